package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/routetest"
)

// TestSetRoutes swaps the route table while a keep-alive connection has a request in flight: that
// request keeps its backend, the connection's next request is routed with the new table, and the
// connections of backends the new table dropped are closed, the idle one at once, the busy one
// when its exchange ends.
func TestSetRoutes(t *testing.T) {
	a, s, b := startScripted(t), startScripted(t), startScripted(t)
	def := startEcho(t, "default")
	p := startProxy(t, testConfig(t, routetest.Table(t, def.addr(), "/a="+a.addr(), "/s="+s.addr())))
	c := dial(t, p.addr)

	req := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: example.test\r\n\r\n" }
	c.send(req("/a/1"))
	a1 := a.next()
	serveOne(t, c, a1, req("/a/1"), followUpResp)

	c.send(req("/s/1")) // a1 goes back to a's pool
	s1 := s.next()
	if diff := cmp.Diff(req("/s/1"), s1.request()); diff != "" {
		t.Errorf("backend s read (-want +got):\n%s", diff)
	}
	p.srv.SetRoutes(routetest.Table(t, def.addr(), "/a="+b.addr()))
	a1.expectEOF() // idle in a dropped backend's pool: closed by the swap

	s1.send(followUpResp) // routed before the swap: answered by s
	if diff := cmp.Diff(followUpResp, c.response(false)); diff != "" {
		t.Errorf("response of the request in flight (-want +got):\n%s", diff)
	}

	c.send(req("/a/2"))
	b1 := b.next()
	serveOne(t, c, b1, req("/a/2"), followUpResp)
	s1.expectEOF() // given back to a dropped backend's pool: closed

	c.send(req("/s/2"))
	if diff := cmp.Diff(echoResponse("default", req("/s/2")), c.response(false)); diff != "" {
		t.Errorf("a path whose route was removed (-want +got):\n%s", diff)
	}
	if n := a.accepts(); n != 1 {
		t.Errorf("backend a accepted %d connections, want 1", n)
	}
}
