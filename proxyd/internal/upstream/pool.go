// Package upstream keeps connections to backends: it dials them with a timeout and parks idle ones
// in a bounded per-backend pool for reuse. The pool has no goroutine of its own: its owner calls
// Sweep now and then, which closes what expired, what the backend closed and what a burst left.
package upstream

import (
	"net"
	"sync"
	"time"

	"proxyd.dev/proxyd/internal/bufpool"
	"proxyd.dev/proxyd/internal/netpoll"
	"proxyd.dev/wire"
)

// MaxIdleTime is how long an idle backend connection is kept in the pool before it is closed instead
// of reused: shorter than the keep-alive timeout of common servers (nginx 75 s, Go 3 min, Node 5 s is
// the exception that the liveness check on reuse covers).
const MaxIdleTime = 30 * time.Second

// MaxResponseHeadSize is the largest response head (or HTTP/2 header list) accepted from a
// backend; a larger one is answered 502.
const MaxResponseHeadSize = 64 << 10

// SweepEvery is how often a pool's owner calls Sweep.
const SweepEvery = time.Second

// PurgeEvery is how often Sweep shrinks a pool after a burst: it closes half of the idle
// connections that no Get took during the last period (HAProxy's pool-purge-delay works alike).
const PurgeEvery = 5 * time.Second

// Conn is one connection to a backend with its read buffer. The buffer is attached while a response
// is being read and handed back when the connection goes idle.
type Conn struct {
	*net.TCPConn
	// Reader reads responses; it holds a buffer only while the connection is in use.
	Reader wire.Reader
	// Reused is true when the connection served an earlier request: a failure on it before any
	// response byte may mean the backend closed it while idle.
	Reused bool
	// Fd is the socket's descriptor, for an event loop that makes its system calls itself; it is
	// not to be closed but through the connection.
	Fd        int
	idleSince time.Time
	quiet     *netpoll.Checker // asks the socket whether it is still quiet, allocating nothing
	send      *netpoll.Sender  // writes a request and waits for its response to begin
	sock      netpoll.Socket   // what Reader reads from
}

// Pool dials connections to one backend and keeps up to a bound of idle ones for reuse.
type Pool struct {
	addr    string
	dialer  net.Dialer
	maxIdle int
	bufs    *bufpool.Pool
	pipes   *wire.PipeBudget
	dialed  func() // called before every dial; set by OnDial before the pool is used

	mu     sync.Mutex
	idle   []*Conn // most recently used last
	closed bool
	// unused is the fewest idle connections the pool held since the last purge: that many were
	// never needed during the period.
	unused    int
	lastPurge time.Time
}

// NewPool returns a pool for the backend at addr ("host:port") that dials with dialTimeout, keeps at
// most maxIdle idle connections (0 disables reuse), takes read buffers from bufs and grows the
// pipes that responses are spliced through as far as pipes allows (nil: not at all).
func NewPool(addr string, dialTimeout time.Duration, maxIdle int, bufs *bufpool.Pool, pipes *wire.PipeBudget) *Pool {
	return &Pool{
		addr:    addr,
		dialer:  net.Dialer{Timeout: dialTimeout},
		maxIdle: maxIdle,
		bufs:    bufs,
		pipes:   pipes,
	}
}

// OnDial makes the pool call f before every dial (to count them). Call it before the pool is used.
func (p *Pool) OnDial(f func()) { p.dialed = f }

// Addr returns the backend's address.
func (p *Pool) Addr() string { return p.addr }

// Get returns an idle connection that is still open and quiet, or dials a new one. The returned
// connection has a read buffer attached.
//
// Every idle connection is checked before reuse (one poll(2) call): one that the backend closed,
// or on which it sent anything while idle, is closed, never reused, so that no bytes that arrived
// before a request was written are taken for its response.
func (p *Pool) Get() (*Conn, error) {
	for c := p.TakeIdle(); c != nil; c = p.TakeIdle() {
		if Quiet(c) {
			return c, nil
		}
		p.Discard(c)
	}
	return p.Dial()
}

// TakeIdle returns an idle connection younger than MaxIdleTime, with a read buffer attached,
// without asking whether it is still quiet: the caller asks before it writes a request on it
// (Quiet, or netpoll.PollQuiet for several connections in one call) and gives one that is not to
// Discard. It returns nil when no idle connection is young enough.
func (p *Pool) TakeIdle() *Conn {
	for c := p.popIdle(); c != nil; c = p.popIdle() {
		if time.Since(c.idleSince) < MaxIdleTime {
			c.Reader.Attach(p.bufs.Get())
			return c
		}
		c.TCPConn.Close()
	}
	return nil
}

// Quiet reports whether a request written on c now can only be answered by its own response:
// nothing is buffered in c.Reader or waits unread in the socket, and the backend has not closed
// the connection. It costs one poll(2) call.
func Quiet(c *Conn) bool {
	return len(c.Reader.Buffered()) == 0 && c.quiet.Quiet()
}

// SendAwait writes bufs, a request whose response cannot begin before its last byte is written, to
// c, found Quiet or new, and waits for the response to begin, sparing the read that would find
// nothing (netpoll.Sender). It reports false, with the rest of bufs left for Send, when the kernel
// did not take all of it at once.
func (c *Conn) SendAwait(bufs *net.Buffers) (sent bool, err error) { return c.send.SendAwait(bufs) }

// Send writes all of bufs, consuming them, with system calls that leave the runtime's monitor
// thread asleep (netpoll.Sender.Send): a request head whose body is streamed after it, or what
// SendAwait left of a request.
func (c *Conn) Send(bufs *net.Buffers) error { return c.send.Send(bufs) }

// Socket returns the connection's socket, which its Reader reads through: for a tunnel, once the
// Reader's bytes are taken.
func (c *Conn) Socket() *netpoll.Socket { return &c.sock }

// Dial opens a new connection to the backend, with a read buffer attached.
func (p *Pool) Dial() (*Conn, error) {
	if p.dialed != nil {
		p.dialed()
	}
	nc, err := p.dialer.Dial("tcp", p.addr)
	if err != nil {
		return nil, err
	}
	tc := nc.(*net.TCPConn)
	c := &Conn{TCPConn: tc}
	if err := c.sock.Init(tc); err != nil {
		tc.Close()
		return nil, err
	}
	rc := c.sock.RawConn()
	c.Fd, c.quiet = netpoll.Fd(rc), netpoll.NewChecker(rc)
	c.send = netpoll.NewSender(&c.sock)
	c.Reader.Reset(&c.sock)
	c.Reader.SetPipeBudget(p.pipes)
	c.Reader.Attach(p.bufs.Get())
	return c, nil
}

func (p *Pool) popIdle() *Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	c := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	p.unused = min(p.unused, len(p.idle))
	return c
}

// Put gives back a connection whose last response was read completely and that may carry another
// request. When the pool is full or closed, or bytes are left unread, the connection is closed.
func (p *Pool) Put(c *Conn) {
	buf := c.Reader.Detach()
	if buf == nil { // unread bytes: the backend sent more than one response
		c.TCPConn.Close()
		return
	}
	p.bufs.Put(buf)
	c.Reused = true
	c.idleSince = time.Now()
	p.mu.Lock()
	if p.closed || len(p.idle) >= p.maxIdle {
		p.mu.Unlock()
		c.TCPConn.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// Sweep closes the idle connections that expired (idle for MaxIdleTime), that the backend closed
// or sent bytes on, and, once every PurgeEvery, half of those that no Get needed during the last
// period. The pool's owner calls it every SweepEvery.
func (p *Pool) Sweep(now time.Time) {
	p.mu.Lock()
	var drop []*Conn
	kept := p.idle[:0]
	for _, c := range p.idle {
		if now.Sub(c.idleSince) >= MaxIdleTime || !c.quiet.Quiet() {
			drop = append(drop, c)
		} else {
			kept = append(kept, c)
		}
	}
	clear(p.idle[len(kept):])
	p.idle = kept
	if now.Sub(p.lastPurge) >= PurgeEvery {
		n := min(p.unused, len(p.idle)) / 2
		drop = append(drop, p.idle[:n]...) // the least recently used
		p.idle = append(p.idle[:0], p.idle[n:]...)
		clear(p.idle[len(p.idle):cap(p.idle)][:n])
		p.unused, p.lastPurge = len(p.idle), now
	}
	p.unused = min(p.unused, len(p.idle))
	p.mu.Unlock()
	for _, c := range drop {
		c.TCPConn.Close()
	}
}

// Idle returns how many idle connections the pool holds.
func (p *Pool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// Discard closes a connection that must not be reused and returns its buffer.
func (p *Pool) Discard(c *Conn) {
	c.TCPConn.Close()
	c.Reader.Reset(&c.sock) // drop what the backend sent beyond the exchange
	if buf := c.Reader.Detach(); buf != nil {
		p.bufs.Put(buf)
	}
}

// Close closes the idle connections; connections given back later are closed too.
func (p *Pool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.closed = true
	p.mu.Unlock()
	for _, c := range idle {
		c.TCPConn.Close()
	}
}
