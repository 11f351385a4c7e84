package integration

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/integration/backend/api"
)

// TestH2ClientThroughProxy sends HTTP/2 requests with prior knowledge (as curl
// --http2-prior-knowledge does) through proxyd, with --rewrite, to an HTTP/1.1-only backend under
// /api and an h2c backend as the default: every stream reaches its own backend, in the protocol
// that backend speaks, with its rewritten :path; bodies stream both ways; trailers pass; a backend
// that stops mid-stream resets the stream rather than ending it like a complete response.
func TestH2ClientThroughProxy(t *testing.T) {
	t.Parallel()
	h1 := startBackend(t, api.ModeHTTP1, "h1")
	h2c := startBackend(t, api.ModeH2C, "h2c")
	proxy := startProxy(t, h2c.addr, "-r", "/api="+h1.addr, "--rewrite")
	base := "http://" + proxy
	c := newH2CClient(t)

	t.Run("streams routed on their own", func(t *testing.T) {
		for _, tc := range []struct {
			path string
			want api.Echo
		}{
			{"/api/users?id=1", api.Echo{Backend: "h1", Method: http.MethodGet, Target: "/users?id=1", Proto: "HTTP/1.1"}},
			{"/other", api.Echo{Backend: "h2c", Method: http.MethodGet, Target: "/other", Proto: "HTTP/2.0"}},
			{"/api", api.Echo{Backend: "h1", Method: http.MethodGet, Target: "/", Proto: "HTTP/1.1"}},
			{"/apiary", api.Echo{Backend: "h2c", Method: http.MethodGet, Target: "/apiary", Proto: "HTTP/2.0"}},
		} {
			got := getEcho(t, c, base+tc.path)
			if diff := cmp.Diff(tc.want, got, cmpEchoRoute); diff != "" {
				t.Errorf("GET %s (-want +got):\n%s", tc.path, diff)
			}
		}
	})
	t.Run("authority becomes Host", func(t *testing.T) {
		if got := getEcho(t, c, base+"/api/host"); got.Host != proxy {
			t.Errorf("the HTTP/1.1 backend got Host %q, want %q", got.Host, proxy)
		}
	})
	t.Run("rejected path", func(t *testing.T) {
		resp, body := get(t, c, base+"/api/%2e%2e/admin")
		checkProxyError(t, resp, body, http.StatusBadRequest)
	})
	t.Run("bodies to the HTTP/1.1 backend", func(t *testing.T) {
		checkBodies(t, c, base+"/api", largeBodySize)
	})
	t.Run("bodies to the h2c backend", func(t *testing.T) {
		checkBodies(t, c, base, largeBodySize)
	})
	t.Run("trailers", func(t *testing.T) {
		checkTrailers(t, c, base)
	})
	t.Run("backend stops mid-stream", func(t *testing.T) {
		checkCutOffStream(t, c, base+"/api", h1.stop)
	})
}
