package engine

import (
	"testing"

	"proxyd.dev/proxyd/internal/routetest"
)

// loopProxy starts a proxy on ring loops in front of a scripted backend, and a client connection
// whose first exchange, served on a goroutine, it plays: the connection waits on a loop after it,
// and its backend connection waits in the pool.
func loopProxy(t *testing.T) (*scriptedBackend, *peer, *peer) {
	t.Helper()
	be := startScripted(t)
	cfg := testConfig(t, routetest.Table(t, be.addr()))
	cfg.RingLoops = true
	p := startProxy(t, cfg)
	c := dial(t, p.addr)
	c.send(simpleGet)
	b := be.next()
	serveOne(t, c, b, simpleGet, followUpResp)
	pool := p.srv.routes.Load().pools[0]
	waitFor(t, "the backend connection is pooled", func() bool { return pool.Idle() == 1 })
	return be, c, b
}

// TestLoopReusesQuietConnection serves a request on a ring loop on the pooled backend connection
// that stayed quiet.
func TestLoopReusesQuietConnection(t *testing.T) {
	be, c, b := loopProxy(t)
	c.send(simpleGet)
	serveOne(t, c, b, simpleGet, followUpResp)
	if n := be.accepts(); n != 1 {
		t.Errorf("backend accepted %d connections, want 1", n)
	}
}

// TestLoopNeverSendsOnStaleConnection never sends a request on a pooled backend connection that
// the backend sent bytes on while it was idle, nor takes them for the response: the ring loop's
// check closes it, and the request goes on a new connection.
func TestLoopNeverSendsOnStaleConnection(t *testing.T) {
	be, c, stale := loopProxy(t)
	stale.send(staleResponse)
	c.send(simpleGet)
	serveOne(t, c, be.next(), simpleGet, followUpResp)
	stale.expectEOF()
}
