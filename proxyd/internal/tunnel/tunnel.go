// Package tunnel joins two connections into a raw bidirectional byte pipe, as after a
// "101 Switching Protocols" answer (WebSocket) or a successful CONNECT.
package tunnel

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"proxyd.dev/proxyd/internal/bufpool"
	"proxyd.dev/proxyd/internal/netpoll"
)

// Tunnel is a pair of connections relaying bytes both ways until both directions have ended or
// no byte has moved either way for the idle timeout.
type Tunnel struct {
	a, b     *net.TCPConn
	idle     time.Duration
	bufs     *bufpool.Pool
	born     time.Time    // when the tunnel was made: the monotonic base of lastMove
	lastMove atomic.Int64 // nanoseconds from born to the last byte relayed either way
	once     sync.Once
}

// New returns a tunnel between a and b. Bytes already read from either side but not yet relayed are
// passed to Run.
func New(a, b *net.TCPConn, idle time.Duration, bufs *bufpool.Pool) *Tunnel {
	return &Tunnel{a: a, b: b, idle: idle, bufs: bufs, born: time.Now()}
}

// Run relays pendingA (bytes read from a) to b and pendingB to a, then everything each side sends,
// until both directions have ended. A direction ends at its source's EOF, which is passed on as a
// half-close, or at an error or the idle timeout, which close both connections. Run closes both
// connections before it returns and reports how many bytes went each way.
func (t *Tunnel) Run(pendingA, pendingB []byte) (aToB, bToA int64) {
	t.touch()
	var wg sync.WaitGroup
	wg.Add(1)
	back := &halfTunnel{t: t, src: t.b, dst: t.a, pending: pendingB}
	go back.run(&wg)
	fwd := &halfTunnel{t: t, src: t.a, dst: t.b, pending: pendingA}
	fwd.run(nil)
	wg.Wait()
	t.closeBoth()
	return fwd.n, back.n
}

// Close ends the tunnel at once, closing both connections.
func (t *Tunnel) Close() { t.closeBoth() }

func (t *Tunnel) closeBoth() {
	t.once.Do(func() {
		t.a.Close()
		t.b.Close()
	})
}

func (t *Tunnel) touch() { t.lastMove.Store(int64(time.Since(t.born))) }

// idleFor reports how long no byte has moved through the tunnel.
func (t *Tunnel) idleFor() time.Duration {
	return time.Since(t.born) - time.Duration(t.lastMove.Load())
}

// halfTunnel copies one direction of a tunnel. It waits for its source to become readable before it
// takes a buffer, so a silent tunnel holds no buffers.
type halfTunnel struct {
	t        *Tunnel
	src, dst *net.TCPConn
	pending  []byte
	n        int64
}

func (h *halfTunnel) run(wg *sync.WaitGroup) {
	if wg != nil {
		defer wg.Done()
	}
	if len(h.pending) > 0 {
		if _, err := h.dst.Write(h.pending); err != nil {
			h.t.closeBoth()
			return
		}
		h.n += int64(len(h.pending))
	}
	for {
		h.src.SetReadDeadline(time.Now().Add(h.t.idle - h.t.idleFor()))
		if err := netpoll.WaitReadable(h.src); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && h.t.idleFor() < h.t.idle {
				continue // the other direction moved bytes meanwhile
			}
			h.t.closeBoth()
			return
		}
		// Readable: the read must not fail on the wait's deadline passing meanwhile.
		h.src.SetReadDeadline(time.Time{})
		done, err := h.relayOnce()
		if err != nil {
			h.t.closeBoth()
			return
		}
		if done {
			h.dst.CloseWrite()
			return
		}
	}
}

// relayOnce moves what one read returns from src to dst. done is true at src's EOF.
func (h *halfTunnel) relayOnce() (done bool, err error) {
	buf := h.t.bufs.Get()
	defer h.t.bufs.Put(buf)
	n, rerr := h.src.Read(buf)
	if n > 0 {
		h.t.touch()
		if _, err := h.dst.Write(buf[:n]); err != nil {
			return false, err
		}
		h.n += int64(n)
	}
	if rerr == io.EOF {
		return true, nil
	}
	return false, rerr
}
