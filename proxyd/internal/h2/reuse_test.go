package h2

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"proxyd.dev/proxyd/internal/routetest"
)

// TestStreamReuse checks which ended streams the server puts back for new streams to reuse: a
// GET's, over either upstream protocol; not one that had a request body, whose response-header
// timer fired, or whose handler panicked (a backend failing mid-body), since something other than
// its handler may still reach those (see clientStream.reusable).
func TestStreamReuse(t *testing.T) {
	cases := []struct {
		name, method, path string
		headTimeout        time.Duration
		status             int // 0: the response body fails
		reused             bool
	}{
		{name: "GET", method: http.MethodGet, path: "/held", status: http.StatusOK, reused: true},
		{name: "POST", method: http.MethodPost, path: "/held", status: http.StatusOK},
		{name: "response-header timeout", method: http.MethodGet, path: "/never", headTimeout: 50 * time.Millisecond, status: http.StatusGatewayTimeout},
		{name: "backend fails mid-body", method: http.MethodGet, path: "/broken"},
	}
	for _, kind := range backendKinds {
		for _, tc := range cases {
			t.Run(kind.name+"/"+tc.name, func(t *testing.T) {
				arrived, proceed := make(chan struct{}), make(chan struct{})
				be := kind.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == "PRI" || r.URL.Path != tc.path { // the protocol probe
						return
					}
					io.Copy(io.Discard, r.Body)
					close(arrived)
					switch tc.path {
					case "/never":
						<-r.Context().Done()
						return
					case "/broken":
						<-proceed
						w.Header().Set("Content-Length", "100")
						io.WriteString(w, "the first 29 bytes of a body")
						http.NewResponseController(w).Flush()
						panic(http.ErrAbortHandler)
					}
					<-proceed
					io.WriteString(w, r.URL.Path)
				}))
				cfg := testConfig(t, routetest.Table(t, addr(be)))
				if tc.headTimeout > 0 {
					cfg.ResponseHeaderTimeout = tc.headTimeout
				}
				p := startProxy(t, cfg)
				var body io.Reader
				if tc.method == http.MethodPost {
					body = strings.NewReader("body")
				}
				req, err := http.NewRequest(tc.method, "http://"+p.addr+tc.path, body)
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan struct{})
				go func() {
					defer close(done)
					resp, err := newClient(t).Do(req)
					if err != nil {
						t.Errorf("%s %s: %v", tc.method, tc.path, err)
						return
					}
					defer resp.Body.Close()
					body, err := io.ReadAll(resp.Body)
					if tc.status == 0 {
						if err == nil {
							t.Errorf("the body of a response the backend broke off read whole: %q", body)
						}
						return
					}
					if err != nil || resp.StatusCode != tc.status {
						t.Errorf("%s %s: %d %q, %v; want status %d", tc.method, tc.path, resp.StatusCode, body, err, tc.status)
					}
				}()
				within(t, arrived, "the request reaching the backend")
				c, cs := openStream(t, p, tc.path)
				close(proceed)
				within(t, done, "the response")
				eventually(t, "the stream's handler ending", func() bool {
					c.mu.Lock()
					defer c.mu.Unlock()
					return c.running == 0
				})
				released := cs.refs.Load() == 0
				if tc.status == 0 {
					if released {
						t.Error("the stream of a panicked handler was let go")
					}
					return
				}
				// Server.start may let go last, after the handler.
				eventually(t, "the stream let go", func() bool { return cs.refs.Load() == 0 })
				if got := cs.reusable(); got != tc.reused {
					t.Errorf("reusable() = %v, want %v", got, tc.reused)
				}
			})
		}
	}
}

// TestReusedStreamHeader sends GETs one after another, each with a field of its own, on one
// connection: a stream that reuses an earlier one's state (and its header map) forwards its own
// fields and none of the earlier request's.
func TestReusedStreamHeader(t *testing.T) {
	be := startH2C(t, echoHandler("be"))
	p := startProxy(t, testConfig(t, routetest.Table(t, addr(be))))
	c := newClient(t)
	for i := range 40 {
		req := newGet(t, p, "/x")
		name := fmt.Sprintf("X-Request-%d", i)
		req.Header.Set(name, "yes")
		var got []string
		for field := range decodeEcho(t, req, c).Header {
			if strings.HasPrefix(field, "X-Request-") {
				got = append(got, field)
			}
		}
		if len(got) != 1 || got[0] != name {
			t.Fatalf("request %d reached the backend with %v, want [%s]", i, got, name)
		}
	}
}

// openStream returns the one connection p serves and its open stream whose :path is path.
func openStream(t *testing.T, p *proxy, path string) (*clientConn, *clientStream) {
	t.Helper()
	for c := range p.serving {
		if st := c.openStream(path); st != nil {
			return c, st
		}
	}
	t.Fatalf("no open stream for %s", path)
	return nil, nil
}

// openStream returns the connection's open stream whose :path is path, or nil.
func (c *clientConn) openStream(path string) *clientStream {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.streams {
		if st.req.RequestURI == path {
			return st
		}
	}
	return nil
}
