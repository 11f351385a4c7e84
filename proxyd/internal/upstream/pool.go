// Package upstream keeps connections to backends: it dials them with a timeout and parks idle ones
// in a bounded per-backend pool for reuse.
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

// quietCheckAfter is how long a connection must have been idle before Get checks that the backend
// has not closed it: a backend rarely closes a connection within a second of its last response, and
// a failed idempotent request is retried anyway, so the check (a syscall) is spared on busy pools.
const quietCheckAfter = time.Second

// Conn is one connection to a backend with its read buffer. The buffer is attached while a response
// is being read and handed back when the connection goes idle.
type Conn struct {
	*net.TCPConn
	// Reader reads responses; it holds a buffer only while the connection is in use.
	Reader wire.Reader
	// Reused is true when the connection served an earlier request: a failure on it before any
	// response byte may mean the backend closed it while idle.
	Reused    bool
	idleSince time.Time
}

// Pool dials connections to one backend and keeps up to a bound of idle ones for reuse.
type Pool struct {
	addr    string
	dialer  net.Dialer
	maxIdle int
	bufs    *bufpool.Pool

	mu     sync.Mutex
	idle   []*Conn // most recently used last
	closed bool
}

// NewPool returns a pool for the backend at addr ("host:port") that dials with dialTimeout, keeps at
// most maxIdle idle connections (0 disables reuse) and takes read buffers from bufs.
func NewPool(addr string, dialTimeout time.Duration, maxIdle int, bufs *bufpool.Pool) *Pool {
	return &Pool{
		addr:    addr,
		dialer:  net.Dialer{Timeout: dialTimeout},
		maxIdle: maxIdle,
		bufs:    bufs,
	}
}

// Addr returns the backend's address.
func (p *Pool) Addr() string { return p.addr }

// Get returns an idle connection that is still open and quiet, or dials a new one. The returned
// connection has a read buffer attached.
func (p *Pool) Get() (*Conn, error) {
	for c := p.popIdle(); c != nil; c = p.popIdle() {
		idle := time.Since(c.idleSince)
		if idle < MaxIdleTime && (idle < quietCheckAfter || netpoll.Quiet(c.TCPConn)) {
			c.Reader.Attach(p.bufs.Get())
			return c, nil
		}
		c.TCPConn.Close()
	}
	return p.Dial()
}

// Dial opens a new connection to the backend, with a read buffer attached.
func (p *Pool) Dial() (*Conn, error) {
	nc, err := p.dialer.Dial("tcp", p.addr)
	if err != nil {
		return nil, err
	}
	tc := nc.(*net.TCPConn)
	c := &Conn{TCPConn: tc}
	c.Reader.Reset(tc)
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
	c.TCPConn.SetDeadline(time.Time{})
	p.mu.Lock()
	if p.closed || len(p.idle) >= p.maxIdle {
		p.mu.Unlock()
		c.TCPConn.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// Discard closes a connection that must not be reused and returns its buffer.
func (p *Pool) Discard(c *Conn) {
	c.TCPConn.Close()
	c.Reader.Reset(c.TCPConn) // drop what the backend sent beyond the exchange
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
