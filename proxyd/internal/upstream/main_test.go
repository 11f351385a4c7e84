package upstream

import (
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"proxyd.dev/proxyd/internal/bufpool"
)

// TestMain fails the run when any test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Limits of the tests.
const (
	// testDialTimeout is the dial timeout of every pool under test; loopback dials never reach it.
	testDialTimeout = 10 * time.Second
	// waitLimit bounds every wait of a test (an accept, a read), so that a missing event fails the
	// test instead of hanging it.
	waitLimit = 10 * time.Second
	// maxAccepted is how many accepted connections a backend holds for its test to take.
	maxAccepted = 16
)

// backend is a loopback listener whose accepted connections a test takes in order.
type backend struct {
	ln    *net.TCPListener
	conns chan *net.TCPConn
}

// startBackend listens on a fresh loopback port; cleanup stops it and closes what it accepted.
func startBackend(t *testing.T) *backend {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	b := &backend{ln: ln, conns: make(chan *net.TCPConn, maxAccepted)}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			select {
			case b.conns <- c:
			default:
				t.Errorf("backend %s: more than %d connections", ln.Addr(), maxAccepted)
				c.Close()
			}
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		close(b.conns)
		for c := range b.conns {
			c.Close()
		}
	})
	return b
}

// addr returns the backend's "host:port".
func (b *backend) addr() string { return b.ln.Addr().String() }

// accept returns the backend's end of c, the connection accepted next.
func (b *backend) accept(t *testing.T, c *Conn) *net.TCPConn {
	t.Helper()
	select {
	case sc := <-b.conns:
		t.Cleanup(func() { sc.Close() })
		if got, want := sc.RemoteAddr().String(), c.LocalAddr().String(); got != want {
			t.Fatalf("backend accepted a connection from %s, want from %s", got, want)
		}
		return sc
	case <-time.After(waitLimit):
		t.Fatalf("backend %s accepted nothing within %v", b.addr(), waitLimit)
		return nil
	}
}

// newPool returns a pool for b keeping up to maxIdle idle connections; cleanup closes it.
func newPool(t *testing.T, b *backend, maxIdle int) *Pool {
	t.Helper()
	p := NewPool(b.addr(), testDialTimeout, maxIdle, &bufpool.Pool{}, nil)
	t.Cleanup(p.Close)
	return p
}

// get takes a connection from p, and its backend end from b; cleanup closes the connection.
func get(t *testing.T, p *Pool, b *backend) (*Conn, *net.TCPConn) {
	t.Helper()
	c, err := p.Get()
	if err != nil {
		t.Fatalf("Get from %s: %v", p.Addr(), err)
	}
	t.Cleanup(func() { c.TCPConn.Close() })
	if c.Reused {
		return c, nil
	}
	return c, b.accept(t, c)
}

// closed reports whether c was closed on this side.
func closed(c *Conn) bool {
	return errors.Is(c.TCPConn.SetReadDeadline(time.Time{}), net.ErrClosed)
}

// waitPeerEnd waits, at most waitLimit, until what the backend did to c (sent, closed) arrived.
func waitPeerEnd(t *testing.T, c *Conn) {
	t.Helper()
	c.TCPConn.SetReadDeadline(time.Now().Add(waitLimit))
	if err := c.sock.RawConn().Read(func(uintptr) bool { return !Quiet(c) }); err != nil {
		t.Fatalf("waiting for the backend on %s: %v", c.LocalAddr(), err)
	}
	c.TCPConn.SetReadDeadline(time.Time{})
}

// expectEOF reads from the backend's end sc and fails unless the connection ended.
func expectEOF(t *testing.T, sc *net.TCPConn) {
	t.Helper()
	sc.SetReadDeadline(time.Now().Add(waitLimit))
	var buf [1]byte
	n, err := sc.Read(buf[:])
	switch {
	case err == nil:
		t.Fatalf("backend read %q, want the end of the connection", buf[:n])
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Fatalf("backend connection from %s still open after %v", sc.RemoteAddr(), waitLimit)
	}
}
