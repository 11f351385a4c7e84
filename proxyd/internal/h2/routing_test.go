package h2

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/routetest"
)

// where is the part of an echo that says where a stream went and how it arrived.
type where struct{ Backend, Proto, Target string }

func whereOf(e echo) where { return where{e.Backend, e.Proto, e.Target} }

// TestStreamsRouteOnTheirOwn sends streams alternating between two backends over one client
// connection: each reaches its own backend, an HTTP/1.1-only one and an h2c one, with its :path.
func TestStreamsRouteOnTheirOwn(t *testing.T) {
	h1 := startH1(t, echoHandler("h1"))
	h2c := startH2C(t, echoHandler("h2c"))
	p := startProxy(t, testConfig(t, routetest.Table(t, addr(h2c), "/api="+addr(h1))))
	c := newClient(t)
	for range 3 {
		for _, tc := range []struct {
			path string
			want where
		}{
			{"/api/users?id=1", where{"h1", "HTTP/1.1", "/api/users?id=1"}},
			{"/apiary", where{"h2c", "HTTP/2.0", "/apiary"}},
			{"/api", where{"h1", "HTTP/1.1", "/api"}},
		} {
			if diff := cmp.Diff(tc.want, whereOf(getEcho(t, c, p, tc.path))); diff != "" {
				t.Errorf("GET %s (-want +got):\n%s", tc.path, diff)
			}
		}
	}
	if n := p.connections(); n != 1 {
		t.Errorf("the client used %d connections, want 1", n)
	}
}

// TestRewritePath strips the matched prefix from each stream's :path with --rewrite; the default
// backend's paths are not rewritten.
func TestRewritePath(t *testing.T) {
	api := startH2C(t, echoHandler("api"))
	def := startH1(t, echoHandler("default"))
	cfg := testConfig(t, routetest.Table(t, addr(def), "/api="+addr(api), "/pre*="+addr(api)))
	cfg.Rewrite = true
	p := startProxy(t, cfg)
	c := newClient(t)
	for path, want := range map[string]where{
		"/api/users":     {"api", "HTTP/2.0", "/users"},
		"/api":           {"api", "HTTP/2.0", "/"},
		"/api?x=1":       {"api", "HTTP/2.0", "/?x=1"},
		"/prefix/a%2Fb":  {"api", "HTTP/2.0", "/fix/a%2Fb"},
		"/other/api/x":   {"default", "HTTP/1.1", "/other/api/x"},
		"//api//x?y=%20": {"api", "HTTP/2.0", "//x?y=%20"},
	} {
		if diff := cmp.Diff(want, whereOf(getEcho(t, c, p, path))); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", path, diff)
		}
	}
}

// TestRejectedPaths answers paths a backend could resolve differently, or with a malformed escape,
// with 400 on the stream, as for HTTP/1.x, and the connection goes on.
func TestRejectedPaths(t *testing.T) {
	be := startH1(t, echoHandler("be"))
	cfg := testConfig(t, routetest.Table(t, addr(be), "/pre*="+addr(be)))
	cfg.Rewrite = true
	p := startProxy(t, cfg)
	c := newClient(t)
	for _, path := range []string{"/a/../b", "/a/%2e%2E/b", "/a%00", "/pre../admin", "/a%zz", "/admin#x", "/a?x#y"} {
		resp, body := get(t, c, p, path)
		checkAnswer(t, resp, body, http.StatusBadRequest)
	}
	getEcho(t, c, p, "/fine")
	if n := p.connections(); n != 1 {
		t.Errorf("the client used %d connections, want 1", n)
	}
}
