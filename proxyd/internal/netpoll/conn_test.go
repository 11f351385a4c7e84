package netpoll

import (
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"proxyd.dev/proxyd/internal/loopback"
)

// lender is a Buffers that counts the buffers out on loan and tells of each one given back.
type lender struct {
	mu   sync.Mutex
	out  int
	back chan struct{} // holds an element once a buffer was given back
}

func newLender() *lender { return &lender{back: make(chan struct{}, 1)} }

func (l *lender) Get() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.out++
	return make([]byte, 64)
}

func (l *lender) Put([]byte) {
	l.mu.Lock()
	l.out--
	l.mu.Unlock()
	select {
	case l.back <- struct{}{}:
	default:
	}
}

func (l *lender) onLoan() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.out
}

// pooledConn returns local as a *Conn, its deadline waitLimit away.
func pooledConn(t *testing.T, local *net.TCPConn) *Conn {
	t.Helper()
	c, ok := WithSocket(local).(*Conn)
	if !ok {
		t.Fatalf("WithSocket(%T) is not a *Conn", local)
	}
	c.SetReadDeadline(time.Now().Add(waitLimit))
	return c
}

// TestReadPooled reads what the peer sent into a borrowed buffer, which it gives back while it
// waits for the bytes, and gives back too when the read ends in the peer's end, a reset or the
// deadline.
func TestReadPooled(t *testing.T) {
	t.Run("waits without a buffer", func(t *testing.T) {
		local, peer := loopback.Pair(t)
		c, bufs := pooledConn(t, local), newLender()
		type result struct {
			buf []byte
			n   int
			err error
		}
		done := make(chan result, 1)
		go func() {
			buf, n, err := c.ReadPooled(bufs)
			done <- result{buf, n, err}
		}()
		<-bufs.back // the first read found nothing and gave the buffer back
		if n := bufs.onLoan(); n != 0 {
			t.Errorf("%d buffers on loan while waiting, want 0", n)
		}
		sends("hello")(t, peer)
		r := <-done
		if r.err != nil || string(r.buf[:r.n]) != "hello" {
			t.Fatalf("ReadPooled = %q, %v; want %q", r.buf[:r.n], r.err, "hello")
		}
		if n := bufs.onLoan(); n != 1 {
			t.Errorf("%d buffers on loan after the read, want the 1 returned", n)
		}
	})
	for _, c := range readEnds {
		t.Run(c.name, func(t *testing.T) {
			local, peer := loopback.Pair(t)
			c.act(t, peer)
			bufs := newLender()
			buf, n, err := pooledConn(t, local).ReadPooled(bufs)
			if buf != nil || n != 0 {
				t.Errorf("ReadPooled at the %s = %v, %d; want no buffer", c.name, buf, n)
			}
			checkReadEnd(t, "ReadPooled", err, c.want)
			if n := bufs.onLoan(); n != 0 {
				t.Errorf("%d buffers on loan after a failed read, want 0", n)
			}
		})
	}
	t.Run("deadline", func(t *testing.T) {
		local, _ := loopback.Pair(t)
		c, bufs := pooledConn(t, local), newLender()
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if buf, n, err := c.ReadPooled(bufs); buf != nil || n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("ReadPooled past the deadline = %v, %d, %v; want nil, 0, os.ErrDeadlineExceeded", buf, n, err)
		}
		if n := bufs.onLoan(); n != 0 {
			t.Errorf("%d buffers on loan after the deadline, want 0", n)
		}
	})
}
