package integration

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/integration/backend/api"
)

// harnessBodySize is the size of the bodies of the direct checks (1 MiB).
const harnessBodySize = 1 << 20

// TestBackendsDirect starts a container of every backend mode and runs the same checks the proxy
// tests run, directly against the backend, so a failure through proxyd is proxyd's.
func TestBackendsDirect(t *testing.T) {
	t.Parallel()
	t.Run(api.ModeHTTP1, func(t *testing.T) {
		t.Parallel()
		b := startBackend(t, api.ModeHTTP1, "direct")
		c := newClient(t)
		got := getEcho(t, c, b.url("/a//b/%2F?q=1"))
		want := api.Echo{Backend: "direct", Method: http.MethodGet, Target: "/a//b/%2F?q=1", Path: "/a//b//", Proto: "HTTP/1.1", Host: b.addr}
		if diff := cmp.Diff(want, got, cmpEchoHeaders); diff != "" {
			t.Errorf("echo differs (-want +got):\n%s", diff)
		}
		checkBodies(t, c, "http://"+b.addr, harnessBodySize)
		t.Run("cut-off stream", func(t *testing.T) {
			checkCutOffStream(t, c, "http://"+b.addr, b.stop)
		})
	})
	t.Run(api.ModeH2C, func(t *testing.T) {
		t.Parallel()
		b := startBackend(t, api.ModeH2C, "direct")
		clients := []struct {
			proto string
			c     *http.Client
		}{
			{"HTTP/1.1", newClient(t)},
			{"HTTP/2.0", newH2CClient(t)},
		}
		for _, tc := range clients {
			t.Run(tc.proto, func(t *testing.T) {
				if got := getEcho(t, tc.c, b.url("/echo")); got.Proto != tc.proto {
					t.Errorf("request arrived over %s, want %s", got.Proto, tc.proto)
				}
				checkTrailers(t, tc.c, "http://"+b.addr)
			})
		}
	})
	t.Run(api.ModeWS, func(t *testing.T) {
		t.Parallel()
		b := startBackend(t, api.ModeWS, "direct")
		checkWebSocket(t, "ws://"+b.addr+"/echo")
	})
	t.Run(api.ModeSSE, func(t *testing.T) {
		t.Parallel()
		b := startBackend(t, api.ModeSSE, "direct")
		checkSSE(t, newClient(t), b.url("/feed"), b)
	})
}

// newH2CClient returns a client that speaks HTTP/2 cleartext with prior knowledge only.
func newH2CClient(t *testing.T) *http.Client {
	c := newClient(t)
	tr := c.Transport.(*http.Transport)
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetUnencryptedHTTP2(true)
	return c
}
