package h2

import (
	"io"
	"net/http"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/routetest"
)

// parkAfter is how long the connections of the parking tests wait without a stream on their
// reader's goroutine; the test clock (clockTick) moves them into the idle set then.
const parkAfter = 20 * time.Millisecond

// startParking starts a proxy whose connections park after parkAfter without a stream, with the
// idle timeout idle, in front of an h2c backend that answers "hello" once release is closed.
func startParking(t *testing.T, idle time.Duration, release <-chan struct{}) *proxy {
	be := startH2C(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "hello")
	}))
	cfg := testConfig(t, routetest.Table(t, addr(be)))
	cfg.ParkAfter, cfg.IdleTimeout = parkAfter, idle
	return startProxy(t, cfg)
}

// released is a closed channel: a backend given it answers at once.
func released() <-chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

// parked reports how many connections of p are in its idle set.
func (p *proxy) parked() int { return p.srv.idle.Len() }

// parkAsked reports how many connections of p were asked to park (clientConn.askPark) and have
// not parked yet.
func (p *proxy) parkAsked() int {
	n := 0
	for c := range p.serving {
		c.mu.Lock()
		if c.parkAsked {
			n++
		}
		c.mu.Unlock()
	}
	return n
}

// streams reports how many streams the connections of p have open.
func (p *proxy) streams() int {
	n := 0
	for c := range p.serving {
		n += c.streamCount()
	}
	return n
}

// TestParkAndResume parks a connection once its stream ended and it stayed without one, and
// serves it again, from the idle set, when its client sends a request, then a PING: each time it
// answers and parks again. The connection's goroutine ended while it was parked: the server keeps
// none for it.
func TestParkAndResume(t *testing.T) {
	p := startParking(t, testTimeout, released())
	c := dialReady(t, p.addr)
	c.Get(1, "/")
	expectHello(t, c)
	eventually(t, "the connection parked", func() bool { return p.parked() == 1 })

	c.Get(3, "/")
	expectHello(t, c)
	eventually(t, "the connection parked again after a request", func() bool { return p.parked() == 1 })

	if err := c.Framer().WritePing(false, [8]byte{7}); err != nil {
		t.Fatal(err)
	}
	for {
		if ping, ok := c.Next().(*http2.PingFrame); ok {
			if !ping.IsAck() || ping.Data != [8]byte{7} {
				t.Fatalf("PING %v %v, want the acknowledgement of the one sent", ping.IsAck(), ping.Data)
			}
			break
		}
	}
	eventually(t, "the connection parked again after a PING", func() bool { return p.parked() == 1 })
	if n := p.openConns(); n != 1 {
		t.Errorf("%d connections served, want 1", n)
	}
}

// TestParkedConnectionEnds ends parked connections in each way a connection ends: its client
// closes it, its idle timeout passes (GOAWAY, then the close), or a shutdown drains it (GOAWAY;
// startProxy's cleanup checks that the server drains). None is left in the idle set or served.
func TestParkedConnectionEnds(t *testing.T) {
	t.Run("client closes", func(t *testing.T) {
		p := startParking(t, testTimeout, released())
		c := dialReady(t, p.addr)
		eventually(t, "the connection parked", func() bool { return p.parked() == 1 })
		c.Close()
		eventually(t, "the connection ended", func() bool { return p.openConns() == 0 && p.parked() == 0 })
	})
	t.Run("idle timeout", func(t *testing.T) {
		p := startParking(t, shortIdle, released())
		c := dialReady(t, p.addr)
		c.Get(1, "/")
		expectHello(t, c)
		eventually(t, "the connection parked", func() bool { return p.parked() == 1 })
		c.ExpectGoAway()
		c.ExpectEOF()
		eventually(t, "the connection ended", func() bool { return p.openConns() == 0 && p.parked() == 0 })
	})
	t.Run("shutdown", func(t *testing.T) {
		p := startParking(t, testTimeout, released())
		c := dialReady(t, p.addr)
		eventually(t, "the connection parked", func() bool { return p.parked() == 1 })
		p.srv.Drain()
		c.ExpectGoAway()
		c.ExpectEOF()
		eventually(t, "the connection ended", func() bool { return p.openConns() == 0 && p.parked() == 0 })
	})
}

// TestNoParkWithStreams keeps a connection whose stream is open on its reader's goroutine,
// however long the stream lasts: a clock far past ParkAfter asks no connection to park while it
// has a stream, and the connection parks once its stream ended.
func TestNoParkWithStreams(t *testing.T) {
	release := make(chan struct{})
	p := startParking(t, testTimeout, release)
	c := dialReady(t, p.addr)
	c.Get(1, "/")
	eventually(t, "the stream open at the proxy", func() bool { return p.streams() == 1 })
	p.srv.CheckStreams(time.Now().Add(10 * parkAfter))
	if n, asked := p.parked(), p.parkAsked(); n != 0 || asked != 0 {
		t.Errorf("with a stream open: %d connections parked, %d asked to, want none", n, asked)
	}
	close(release)
	expectHello(t, c)
	eventually(t, "the connection parked once its stream ended", func() bool { return p.parked() == 1 })
}
