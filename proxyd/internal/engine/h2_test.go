package engine

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/routetest"
	"proxyd.dev/wire"
)

// nameProtoTarget answers every request with "name proto request-target".
func nameProtoTarget(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s", name, r.Proto, r.RequestURI)
	}
}

// startH2CBackend starts a backend that speaks HTTP/1.1 and HTTP/2 with prior knowledge.
func startH2CBackend(t testing.TB, h http.Handler) string {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// startH1Backend starts an HTTP/1.1-only backend.
func startH1Backend(t testing.TB, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// fetchBody sends a GET for url and returns the status and body.
func fetchBody(t testing.TB, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, body)
}

// TestH2PriorKnowledgeOnTheListener serves a connection that opens with the HTTP/2 preface as
// HTTP/2 on the same listener as HTTP/1.x: its streams go to two backends, each by its own :path
// (rewritten), while an HTTP/1.1 client is served as before.
func TestH2PriorKnowledgeOnTheListener(t *testing.T) {
	api := startH1Backend(t, nameProtoTarget("api"))
	def := startH2CBackend(t, nameProtoTarget("default"))
	cfg := testConfig(t, routetest.Table(t, def, "/api="+api))
	cfg.Rewrite = true
	p := startProxy(t, cfg)
	h2c, h1 := h2test.NewClient(t, waitLimit), &http.Client{Timeout: waitLimit}
	defer h1.CloseIdleConnections()
	for _, tc := range []struct {
		c    *http.Client
		path string
		want string
	}{
		{h2c, "/api/users", "200 api HTTP/1.1 /users"},
		{h2c, "/other", "200 default HTTP/2.0 /other"},
		{h2c, "/api", "200 api HTTP/1.1 /"},
		{h1, "/api/users", "200 api HTTP/1.1 /users"},
		{h2c, "/a/../b", "400 400 Bad Request\n"},
		{h1, "/other", "200 default HTTP/1.1 /other"},
	} {
		if diff := cmp.Diff(tc.want, fetchBody(t, tc.c, "http://"+p.addr+tc.path)); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", tc.path, diff)
		}
	}
}

// TestH2PrefaceDripped sends the preface a few bytes at a time: the connection is recognised once
// it is complete, and the bytes read meanwhile reach the HTTP/2 server.
func TestH2PrefaceDripped(t *testing.T) {
	p := startProxy(t, testConfig(t, routetest.Table(t, startH2CBackend(t, nameProtoTarget("be")))))
	c := dial(t, p.addr)
	for chunk := range slicesChunk(wire.H2Preface, 5) {
		c.send(chunk)
	}
	fr := http2.NewFramer(c.conn, c.br)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	c.guard()
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatalf("reading the server's first frame: %v", err)
	}
	if _, ok := f.(*http2.SettingsFrame); !ok {
		t.Errorf("first frame %v, want SETTINGS", f)
	}
}

// slicesChunk yields s in pieces of n bytes.
func slicesChunk(s string, n int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// TestH2ShutdownGoAway shuts the server down with an HTTP/2 stream in flight: the client gets a
// GOAWAY, the stream completes, the connection closes, and Shutdown returns nil.
func TestH2ShutdownGoAway(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	be := startH2CBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/held") {
			return // the protocol probe
		}
		close(arrived)
		<-release
		io.WriteString(w, "done")
	}))
	p := startProxy(t, testConfig(t, routetest.Table(t, be)))
	c := h2test.Dial(t, p.addr, waitLimit)
	c.Settings()
	c.Get(1, "/held")
	receive(t, arrived, "the request to reach the backend")

	done := shutdownAsync(p, waitLimit)
	c.ExpectGoAway()
	close(release)
	if status, body := c.Response(); status != "200" || string(body) != "done" {
		t.Errorf("in-flight stream: status %q, body %q; want 200 and %q", status, body, "done")
	}
	c.ExpectEOF()
	if err := result(t, done); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	expectRefused(t, p.addr)
}

// TestH1AndH2ShareThePool relays an HTTP/1.1 client's request and then an HTTP/2 client's stream to
// an HTTP/1.1 backend: the stream goes over the connection the first request left in the backend's
// pool, since HTTP/1.x and HTTP/2 clients share one pool per backend.
func TestH1AndH2ShareThePool(t *testing.T) {
	conns := make(chan string, 4)
	be := startH1Backend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "PRI" { // the protocol probe's preface, on a connection of its own
			conns <- r.RemoteAddr
		}
		io.WriteString(w, "ok")
	}))
	p := startProxy(t, testConfig(t, routetest.Table(t, be)))
	h1 := &http.Client{Timeout: waitLimit}
	if got := fetchBody(t, h1, "http://"+p.addr+"/first"); got != "200 ok" {
		t.Fatalf("HTTP/1.1 GET /first: %s", got)
	}
	h1.CloseIdleConnections() // its backend connection goes back to the pool
	pool := p.srv.routes.Load().pools[0]
	waitFor(t, "the backend connection is pooled", func() bool { return pool.Idle() == 1 })
	if got := fetchBody(t, h2test.NewClient(t, waitLimit), "http://"+p.addr+"/second"); got != "200 ok" {
		t.Fatalf("HTTP/2 GET /second: %s", got)
	}
	if first, second := <-conns, <-conns; first != second {
		t.Errorf("the stream came on backend connection %s, the request before on %s: two pools", second, first)
	}
}

// TestH2ResponseHeaderTimeout answers 504 on an HTTP/2 stream whose backend sends no response head
// within --response-header-timeout, over either upstream protocol: the server's sweeper ends it
// (h2.Server.CheckStreams). The connection goes on serving.
func TestH2ResponseHeaderTimeout(t *testing.T) {
	hang := http.NewServeMux()
	hang.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	hang.HandleFunc("/ok", nameProtoTarget("ok"))
	for _, tc := range []struct {
		name    string
		backend func(testing.TB, http.Handler) string
		proto   string
	}{
		{"h2c", startH2CBackend, "HTTP/2.0"},
		{"HTTP/1.1", startH1Backend, "HTTP/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, routetest.Table(t, tc.backend(t, hang)))
			cfg.ResponseHeaderTimeout = 100 * time.Millisecond
			p := startProxy(t, cfg)
			c := h2test.NewClient(t, waitLimit)
			for _, tr := range []struct{ path, want string }{
				{"/ok", "200 ok " + tc.proto + " /ok"},
				{"/hang", "504 504 Gateway Timeout\n"},
				{"/ok", "200 ok " + tc.proto + " /ok"},
			} {
				if got := fetchBody(t, c, "http://"+p.addr+tr.path); got != tr.want {
					t.Errorf("GET %s: %q, want %q", tr.path, got, tr.want)
				}
			}
		})
	}
}
