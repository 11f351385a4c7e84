package tunnel

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"proxyd.dev/proxyd/internal/bufpool"
	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/netpoll"
)

// TestMain fails the run when any test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Limits of the tests.
const (
	// waitLimit bounds every wait of a test (a read, the end of Run), so that a tunnel that never
	// relays or never ends fails the test instead of hanging it.
	waitLimit = 10 * time.Second
)

// counts is what Run reports.
type counts struct{ AToB, BToA int64 }

// rig is a tunnel under test between the proxy's ends of two connections: a (from a client) and
// b (to a backend). The test plays the client and the backend on the far ends.
type rig struct {
	client, backend *net.TCPConn // far ends
	a, b            *net.TCPConn // the tunnel's ends
	tun             *Tunnel
	done            chan counts
	ended           time.Time // when Run returned; set before done is sent on
}

// newRig builds a tunnel; run starts it.
func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{done: make(chan counts, 1)}
	r.client, r.a = loopback.Pair(t)
	r.backend, r.b = loopback.Pair(t)
	r.tun = New(socketOf(t, r.a), socketOf(t, r.b), &bufpool.Pool{})
	return r
}

// socketOf returns a socket over c.
func socketOf(t *testing.T, c *net.TCPConn) *netpoll.Socket {
	t.Helper()
	s := new(netpoll.Socket)
	if err := s.Init(c); err != nil {
		t.Fatal(err)
	}
	return s
}

// run starts Run with the pending bytes in its own goroutine; cleanup closes the tunnel and waits
// for Run to end.
func (r *rig) run(t *testing.T, pendingA, pendingB string) {
	t.Helper()
	go func() {
		aToB, bToA := r.tun.Run([]byte(pendingA), []byte(pendingB))
		r.ended = time.Now()
		r.done <- counts{aToB, bToA}
	}()
	t.Cleanup(func() {
		r.tun.Close()
		select {
		case c := <-r.done:
			r.done <- c
		case <-time.After(waitLimit):
			t.Errorf("Run still running %v after Close", waitLimit)
		}
	})
}

// wait returns what Run reported, waiting for it at most waitLimit.
func (r *rig) wait(t *testing.T) counts {
	t.Helper()
	select {
	case c := <-r.done:
		r.done <- c // for cleanup
		return c
	case <-time.After(waitLimit):
		t.Fatalf("Run still running after %v", waitLimit)
		return counts{}
	}
}

// running reports whether Run has not returned yet.
func (r *rig) running() bool {
	select {
	case c := <-r.done:
		r.done <- c
		return false
	default:
		return true
	}
}

// bothClosed fails the test unless Run closed the tunnel's two ends.
func (r *rig) bothClosed(t *testing.T) {
	t.Helper()
	for name, c := range map[string]*net.TCPConn{"a": r.a, "b": r.b} {
		if err := c.SetReadDeadline(time.Time{}); !errors.Is(err, net.ErrClosed) {
			t.Errorf("the tunnel's end %s is still open", name)
		}
	}
}

// send writes data on c.
func send(t *testing.T, c *net.TCPConn, data string) {
	t.Helper()
	c.SetWriteDeadline(time.Now().Add(waitLimit))
	if _, err := c.Write([]byte(data)); err != nil {
		t.Fatalf("write from %s: %v", c.LocalAddr(), err)
	}
}

// expect reads len(want) bytes from c and compares them with want.
func expect(t *testing.T, c *net.TCPConn, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitLimit))
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("read %d bytes on %s: %v", len(want), c.LocalAddr(), err)
	}
	if diff := cmp.Diff(want, string(buf)); diff != "" {
		t.Fatalf("read on %s (-want +got):\n%s", c.LocalAddr(), diff)
	}
}

// expectEOF fails unless the next read on c reports the end of the stream.
func expectEOF(t *testing.T, c *net.TCPConn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitLimit))
	var buf [1]byte
	n, err := c.Read(buf[:])
	switch {
	case err == nil:
		t.Fatalf("read on %s = %q, want the end of the stream", c.LocalAddr(), buf[:n])
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Fatalf("no end of the stream on %s within %v", c.LocalAddr(), waitLimit)
	}
}
