package h2

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/routetest"
)

// TestSetRoutesOnOpenConnection swaps the route table under an open connection: its later streams
// are routed with the new table, and a backend the new table keeps keeps its protocol.
func TestSetRoutesOnOpenConnection(t *testing.T) {
	old := startH1(t, echoHandler("old"))
	nw := startH2C(t, echoHandler("new"))
	def := startH2C(t, echoHandler("default"))
	p := startProxy(t, testConfig(t, routetest.Table(t, addr(def), "/api="+addr(old))))
	c := newClient(t)
	if diff := cmp.Diff(where{"old", "HTTP/1.1", "/api/x"}, whereOf(getEcho(t, c, p, "/api/x"))); diff != "" {
		t.Errorf("before the swap (-want +got):\n%s", diff)
	}
	p.srv.SetRoutes(routetest.Table(t, addr(def), "/api/v2="+addr(nw), "/api="+addr(def)))
	for path, want := range map[string]where{
		"/api/x":    {"default", "HTTP/2.0", "/api/x"},
		"/api/v2/y": {"new", "HTTP/2.0", "/api/v2/y"},
		"/other":    {"default", "HTTP/2.0", "/other"},
	} {
		if diff := cmp.Diff(want, whereOf(getEcho(t, c, p, path))); diff != "" {
			t.Errorf("GET %s after the swap (-want +got):\n%s", path, diff)
		}
	}
	if n := p.connections(); n != 1 {
		t.Errorf("the client used %d connections, want 1", n)
	}
}
