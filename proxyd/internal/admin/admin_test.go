package admin

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/metrics"
)

// closeRecorder is a listener that records that it was closed.
type closeRecorder struct {
	net.Listener
	closed atomic.Bool
}

func (l *closeRecorder) Close() error {
	l.closed.Store(true)
	return l.Listener.Close()
}

// listen returns a listener on a free loopback port.
func listen(t *testing.T) *closeRecorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &closeRecorder{Listener: ln}
}

// start serves metricsHandler and ready on a loopback listener until the test ends, then checks
// that Close made Serve return nil. It returns the server's base URL and a client of it.
func start(t *testing.T, metricsHandler http.Handler, ready func() bool) (string, *http.Client) {
	t.Helper()
	ln := listen(t)
	s := New(metricsHandler, ready, slog.New(slog.DiscardHandler))
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	transport := &http.Transport{}
	t.Cleanup(func() {
		transport.CloseIdleConnections()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve after Close: %v, want nil", err)
		}
	})
	return "http://" + ln.Addr().String(), &http.Client{Transport: transport}
}

// answer is what a test checks of a response.
type answer struct {
	Status      int
	Body        string
	Length      int64
	ContentType string
	Allow       string
}

// do sends method to url and returns the answer.
func do(t *testing.T, c *http.Client, method, url string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return answer{resp.StatusCode, string(body), resp.ContentLength, resp.Header.Get("Content-Type"), resp.Header.Get("Allow")}
}

// TestEndpoints checks the answer of each path and method.
func TestEndpoints(t *testing.T) {
	scrape := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, "proxyd_up 1\n")
	})
	url, c := start(t, scrape, func() bool { return true })
	const plain = "text/plain; charset=utf-8"
	for _, tc := range []struct {
		method, path string
		want         answer
	}{
		{"GET", "/metrics", answer{200, "proxyd_up 1\n", 12, "text/plain; version=0.0.4", ""}},
		{"HEAD", "/metrics", answer{200, "", 12, "text/plain; version=0.0.4", ""}},
		{"GET", "/healthz", answer{200, "ok\n", 3, plain, ""}},
		{"GET", "/healthz?verbose=1", answer{200, "ok\n", 3, plain, ""}},
		{"HEAD", "/healthz", answer{200, "", 3, plain, ""}},
		{"GET", "/readyz", answer{200, "ready\n", 6, plain, ""}},
		{"HEAD", "/readyz", answer{200, "", 6, plain, ""}},
		{"POST", "/healthz", answer{405, "405 Method Not Allowed\n", 23, plain, "GET, HEAD"}},
		{"PUT", "/readyz", answer{405, "405 Method Not Allowed\n", 23, plain, "GET, HEAD"}},
		{"DELETE", "/metrics", answer{405, "405 Method Not Allowed\n", 23, plain, "GET, HEAD"}},
		{"GET", "/", answer{404, "404 Not Found\n", 14, plain, ""}},
		{"GET", "/metrics/", answer{404, "404 Not Found\n", 14, plain, ""}},
		{"GET", "/Healthz", answer{404, "404 Not Found\n", 14, plain, ""}},
		{"GET", "/debug/pprof/", answer{404, "404 Not Found\n", 14, plain, ""}},
		{"POST", "/nowhere", answer{404, "404 Not Found\n", 14, plain, ""}},
	} {
		if diff := cmp.Diff(tc.want, do(t, c, tc.method, url+tc.path)); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tc.method, tc.path, diff)
		}
	}
}

// TestReadiness checks that /readyz turns 503 the moment ready turns false, while /healthz stays 200.
func TestReadiness(t *testing.T) {
	var ready atomic.Bool
	ready.Store(true)
	url, c := start(t, http.NotFoundHandler(), ready.Load)
	if got := do(t, c, "GET", url+"/readyz"); got.Status != 200 || got.Body != "ready\n" {
		t.Errorf("ready: %+v, want 200 ready", got)
	}
	ready.Store(false)
	if got := do(t, c, "GET", url+"/readyz"); got.Status != 503 || got.Body != "shutting down\n" {
		t.Errorf("shutting down: %+v, want 503 shutting down", got)
	}
	if got := do(t, c, "GET", url+"/healthz"); got.Status != 200 || got.Body != "ok\n" {
		t.Errorf("healthz while shutting down: %+v, want 200 ok", got)
	}
}

// TestMetrics checks /metrics with proxyd's metrics behind it.
func TestMetrics(t *testing.T) {
	m := metrics.New()
	m.Route("/api").Observe([]byte("GET"), 200, time.Millisecond, 0, 10)
	url, c := start(t, m.Handler(), func() bool { return true })
	got := do(t, c, "GET", url+"/metrics")
	if got.Status != 200 || !strings.HasPrefix(got.ContentType, "text/plain; version=0.0.4") {
		t.Errorf("GET /metrics: status %d, Content-Type %q", got.Status, got.ContentType)
	}
	const series = `proxyd_requests_total{code="2xx",method="GET",route="/api"} 1` + "\n"
	if !strings.Contains(got.Body, series) {
		t.Errorf("GET /metrics lacks %q:\n%s", series, got.Body)
	}
}

// TestClose checks that Close closes the listener and open connections and makes Serve return nil.
func TestClose(t *testing.T) {
	ln := listen(t)
	s := New(http.NotFoundHandler(), func() bool { return true }, slog.New(slog.DiscardHandler))
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /healthz: %d", resp.StatusCode)
	}

	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve after Close: %v, want nil", err)
	}
	if !ln.closed.Load() {
		t.Error("the listener is open after Close")
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // a bound on failure, not a wait
	if n, err := br.ReadByte(); err != io.EOF {
		t.Errorf("keep-alive connection after Close: read %q, %v; want EOF", n, err)
	}
}

// TestCloseBeforeServe checks that Serve after Close returns nil at once and closes its listener.
func TestCloseBeforeServe(t *testing.T) {
	ln := listen(t)
	s := New(http.NotFoundHandler(), func() bool { return true }, slog.New(slog.DiscardHandler))
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Serve(ln); err != nil {
		t.Errorf("Serve after Close: %v, want nil", err)
	}
	if !ln.closed.Load() {
		t.Error("the listener is open after Serve returned")
	}
}

// TestServeError checks that Serve returns the error of a listener that fails.
func TestServeError(t *testing.T) {
	ln := listen(t)
	ln.Close()
	s := New(http.NotFoundHandler(), func() bool { return true }, slog.New(slog.DiscardHandler))
	if err := s.Serve(ln); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve on a closed listener: %v, want %v", err, net.ErrClosed)
	}
}

// TestSlowHead checks that a client that does not finish its request head is disconnected after
// the header timeout.
func TestSlowHead(t *testing.T) {
	t.Parallel()
	url, _ := start(t, http.NotFoundHandler(), func() bool { return true })
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: admin\r\n")
	begin := time.Now()
	conn.SetReadDeadline(begin.Add(readHeaderTimeout + 10*time.Second)) // a bound on failure, not a wait
	n, err := conn.Read(make([]byte, 1))
	if elapsed := time.Since(begin); n != 0 || err != io.EOF || elapsed < readHeaderTimeout-time.Second {
		t.Errorf("half a head: read %d bytes, %v after %v; want EOF after %v", n, err, elapsed, readHeaderTimeout)
	}
}
