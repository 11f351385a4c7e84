// Package tunnel joins two connections into a raw bidirectional byte pipe, as after a
// "101 Switching Protocols" answer (WebSocket) or a successful CONNECT.
package tunnel

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"proxyd.dev/proxyd/internal/bufpool"
	"proxyd.dev/proxyd/internal/netpoll"
)

// Tunnel is a pair of connections relaying bytes both ways until both directions have ended or it
// is closed. It sets no deadline and has no timer: its owner reads IdleFor and calls Close when the
// tunnel has been idle too long. It reads and writes through the connections' sockets
// (netpoll.Socket), whose system calls leave the runtime's monitor thread asleep: a tunnel's
// messages are small and come one at a time, often into a process that is otherwise idle.
type Tunnel struct {
	a, b *netpoll.Socket
	bufs *bufpool.Pool
	idle IdleClock // since the last byte relayed either way
	once sync.Once
}

// New returns a tunnel between the connections of sockets a and b that takes its copy buffers from
// bufs. Bytes already read from either side but not yet relayed are passed to Run. The tunnel is
// then each socket's only reader and writer.
func New(a, b *netpoll.Socket, bufs *bufpool.Pool) *Tunnel {
	t := &Tunnel{a: a, b: b, bufs: bufs}
	t.idle.Start()
	return t
}

// Run relays pendingA (bytes read from a) to b and pendingB to a, then everything each side sends,
// until both directions have ended. A direction ends at its source's EOF, which is passed on as a
// half-close, or at an error or Close, which close both connections. Run closes both
// connections before it returns and reports how many bytes went each way.
func (t *Tunnel) Run(pendingA, pendingB []byte) (aToB, bToA int64) {
	t.idle.Moved()
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

// Close ends the tunnel at once, closing both connections; Run returns soon after. It is safe to
// call from any goroutine, more than once.
func (t *Tunnel) Close() { t.closeBoth() }

func (t *Tunnel) closeBoth() {
	t.once.Do(func() {
		t.a.TCPConn().Close()
		t.b.TCPConn().Close()
	})
}

// IdleFor reports how long no byte has moved through the tunnel: since the last byte read or
// written either way (or since New). A write the receiver does not take moves nothing. Safe for
// concurrent use.
func (t *Tunnel) IdleFor() time.Duration { return t.idle.IdleFor() }

// IdleClock tells how long it has been since bytes last moved through a tunnel, without a lock or
// a timer: Moved is one atomic store. Its methods are safe for concurrent use once Start has run.
type IdleClock struct {
	born time.Time    // when Start ran: the monotonic base of last
	last atomic.Int64 // nanoseconds from born to the last Moved
}

// Start starts the clock, as if bytes had moved now.
func (c *IdleClock) Start() { c.born = time.Now() }

// Moved records that bytes moved now.
func (c *IdleClock) Moved() { c.last.Store(int64(time.Since(c.born))) }

// IdleFor returns how long it has been since bytes last moved.
func (c *IdleClock) IdleFor() time.Duration {
	return time.Since(c.born) - time.Duration(c.last.Load())
}

// halfTunnel copies one direction of a tunnel. It waits for its source to become readable before it
// takes a buffer (netpoll.PooledReader), so a silent tunnel holds no buffers.
type halfTunnel struct {
	t        *Tunnel
	src, dst *netpoll.Socket
	reader   netpoll.PooledReader // src's reader
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
		done, err := h.relayOnce()
		if err != nil {
			h.t.closeBoth()
			return
		}
		if done {
			h.dst.TCPConn().CloseWrite()
			return
		}
	}
}

// relayOnce moves what one read returns from src to dst, once src has something. done is true at
// src's EOF.
func (h *halfTunnel) relayOnce() (done bool, err error) {
	buf, n, err := h.reader.Read(h.src, h.t.bufs)
	switch {
	case err == io.EOF:
		return true, nil
	case err != nil:
		return false, err
	}
	defer h.t.bufs.Put(buf)
	h.t.idle.Moved()
	if _, err := h.dst.Write(buf[:n]); err != nil {
		return false, err
	}
	h.t.idle.Moved()
	h.n += int64(n)
	return false, nil
}
