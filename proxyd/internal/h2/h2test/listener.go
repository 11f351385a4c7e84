package h2test

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Listener accepts connections on a loopback port until the test ends and serves each on a
// goroutine of its own; a connection closes when its serve returns. Cleanup closes the listener
// and every connection, and waits for those goroutines.
type Listener struct {
	ln       net.Listener
	serve    func(nc net.Conn, index int)
	accepted atomic.Int32
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn // guarded by mu
}

// Listen starts a listener whose connections serve serves, index being 1 for the first one
// accepted, and so on.
func Listen(t testing.TB, serve func(nc net.Conn, index int)) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &Listener{ln: ln, serve: serve}
	l.wg.Go(l.acceptLoop)
	t.Cleanup(func() {
		ln.Close()
		l.mu.Lock()
		for _, c := range l.conns {
			c.Close()
		}
		l.mu.Unlock()
		l.wg.Wait()
	})
	return l
}

// Addr returns the listener's address.
func (l *Listener) Addr() string { return l.ln.Addr().String() }

// Accepted returns how many connections the listener accepted.
func (l *Listener) Accepted() int32 { return l.accepted.Load() }

func (l *Listener) acceptLoop() {
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		l.conns = append(l.conns, nc)
		l.mu.Unlock()
		index := int(l.accepted.Add(1))
		l.wg.Go(func() {
			defer nc.Close()
			l.serve(nc, index)
		})
	}
}
