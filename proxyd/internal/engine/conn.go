package engine

import (
	"errors"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/wire"
)

// Connection states, for shutdown: only an idle connection may be closed from outside.
const (
	stateActive int32 = iota // reading a head or relaying an exchange
	stateIdle                // waiting for the next request
	stateClosed              // closed by shutdown while idle
)

// clientConn is one client connection and the state of its current exchange.
type clientConn struct {
	srv   *Server
	conn  *net.TCPConn
	rd    wire.Reader
	state atomic.Int32

	// backend is the backend connection kept between consecutive requests to the same backend;
	// backendIdx is its index in srv.pools. inUse is what abort closes.
	backend    *upstream.Conn
	backendIdx int
	inUse      atomic.Pointer[upstream.Conn]

	requests int           // requests read so far
	ex       *exchangeData // held while a request is read or relayed, pooled while idle
	idle     idleRead
	// idleUntil is when the current wait for a request ends; handedOff is set while a new
	// goroutine continues that wait.
	idleUntil time.Time
	handedOff bool
	waitErr   error // the end of the wait resumeWait did
	// raw and readIdleFn serve awaitRequest; made once so that waiting allocates nothing.
	raw        syscall.RawConn
	readIdleFn func(fd uintptr) bool
	// linger asks finish to drain what the client still sends before closing, so that the answer
	// just written is not destroyed by a reset.
	linger bool
}

// exchangeData is what one exchange needs and an idle connection does not: the parsed heads, the
// exchange's state, and scratch space reused from one exchange to the next.
type exchangeData struct {
	head      wire.RequestHead
	resp      wire.ResponseHead
	x         exchangeState
	stripped  []byte      // the request head without its h2c upgrade
	keepAlive []byte      // the request head without "Connection: close"
	target    []byte      // the rewritten request-target
	respHead  []byte      // the response head marked "Connection: close"
	parts     net.Buffers // what one writev sends, laid out in partsArr
	partsArr  [4][]byte
}

func newClientConn(s *Server, nc *net.TCPConn) *clientConn {
	c := &clientConn{srv: s, conn: nc}
	c.rd.Reset(nc)
	c.raw, _ = nc.SyscallConn() // a *net.TCPConn always has one
	c.readIdleFn = c.readIdle
	return c
}

// serve runs the connection's request loop until the client or the proxy closes it.
//
// A connection that stays idle past handoffAfter is handed to a new goroutine (resumeWait), and
// this one ends: a fresh goroutine has a small stack, while this one's grew to relay exchanges.
func (c *clientConn) serve() {
	defer func() {
		if p := recover(); p != nil {
			c.srv.log.Error("connection handler panicked", "client", c.conn.RemoteAddr(), "panic", p, "stack", string(debug.Stack()))
			c.finish()
		}
	}()
	for {
		switch c.readRequestHead() {
		case headHandedOff:
			return
		case headClose:
			c.finish()
			return
		}
		if !c.exchange() || c.srv.shutting.Load() {
			c.finish()
			return
		}
	}
}

// headResult is what readRequestHead and awaitRequest come to.
type headResult int

const (
	headReady     headResult = iota // a request head is in c.ex.head
	headClose                       // the connection is to be closed
	headHandedOff                   // a new goroutine serves the connection now
)

// handoffAfter is how long a connection waits for its next request on the goroutine that served
// the previous one, before it is handed to a new one with a small stack.
const handoffAfter = time.Second

// finish closes the connection and gives back what it holds.
func (c *clientConn) finish() {
	if c.linger {
		c.lingerClose()
	}
	c.conn.Close()
	c.releaseBackend()
	c.rd.Reset(c.conn)
	if buf := c.rd.Detach(); buf != nil {
		c.srv.bufs.Put(buf)
	}
	c.releaseExchange()
	c.srv.untrack(c)
}

// releaseExchange gives the exchange data back to the server's pool.
func (c *clientConn) releaseExchange() {
	if c.ex != nil {
		c.srv.exchanges.Put(c.ex)
		c.ex = nil
	}
}

// closeIfIdle closes the connection when it waits for a request (shutdown).
func (c *clientConn) closeIfIdle() {
	if c.state.CompareAndSwap(stateIdle, stateClosed) {
		c.conn.Close()
	}
}

// abort closes the connection and its backend connection whatever they are doing (end of the
// shutdown grace period).
func (c *clientConn) abort() {
	c.conn.Close()
	if b := c.inUse.Load(); b != nil {
		b.Close()
	}
}

// releaseBackend gives the kept backend connection back to its pool.
func (c *clientConn) releaseBackend() {
	if c.backend != nil {
		c.srv.pools[c.backendIdx].Put(c.backend)
		c.backend = nil
		c.inUse.Store(nil)
	}
}

// readRequestHead reads the next request head into c.ex.head (headReady). It returns headClose when
// the connection is to be closed: the client closed it or went idle too long, the head was bad
// (answered), or the server is shutting down; headHandedOff when a new goroutine took over the wait.
func (c *clientConn) readRequestHead() headResult {
	if len(c.rd.Buffered()) == 0 {
		if r := c.awaitRequest(); r != headReady {
			return r
		}
	}
	if c.ex == nil {
		c.ex = c.srv.exchanges.Get()
	}
	c.conn.SetReadDeadline(time.Now().Add(c.srv.cfg.HeaderTimeout))
	err := readHead(&c.rd, c.srv.cfg.MaxHeaderSize, func(buf []byte) error {
		return wire.ParseRequestHead(buf, &c.ex.head)
	})
	if err == nil {
		c.requests++
		return headReady
	}
	c.headFailed(err)
	return headClose
}

// headFailed answers and logs a request head that could not be read: too large (431), malformed
// (the parser's status), too slow (408); a client that closed mid-head is only logged.
func (c *clientConn) headFailed(err error) {
	var we *wire.Error
	switch {
	case errors.Is(err, errHeadTooLarge):
		c.answer(431, true, false)
		c.srv.log.Info("request head too large", "client", c.conn.RemoteAddr(), "limit", c.srv.cfg.MaxHeaderSize)
	case errors.As(err, &we):
		c.answer(we.Status, true, false)
		c.srv.log.Info("bad request head", "client", c.conn.RemoteAddr(), "status", we.Status, "err", err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.answer(408, true, false)
		c.srv.log.Info("request head timeout", "client", c.conn.RemoteAddr(), "bytes", len(c.rd.Buffered()))
	case len(c.rd.Buffered()) > 0:
		c.srv.log.Info("client closed mid-head", "client", c.conn.RemoteAddr(), "err", err)
	}
}

// awaitRequest waits for the client's next request. It reads at once when bytes are there; else
// the connection parks holding neither a buffer nor a backend connection until the client sends
// something, and is handed to a new goroutine when the wait outlasts handoffAfter.
func (c *clientConn) awaitRequest() headResult {
	var err error
	if c.handedOff {
		err, c.handedOff = c.waitErr, false // resumeWait has waited already
	} else {
		now := time.Now()
		wait := c.srv.cfg.IdleTimeout
		if c.requests == 0 {
			wait = c.srv.cfg.HeaderTimeout
		}
		c.idleUntil = now.Add(wait)
		c.conn.SetReadDeadline(now.Add(min(wait, handoffAfter)))
		c.state.Store(stateIdle)
		if c.srv.shutting.Load() {
			return headClose
		}
		c.idle = idleRead{buf: c.rd.Detach()}
		err = c.raw.Read(c.readIdleFn)
		if err != nil && isTimeout(err) && time.Now().Before(c.idleUntil) && c.state.Load() == stateIdle {
			c.handedOff = true
			c.conn.SetReadDeadline(c.idleUntil)
			go c.resumeWait()
			return headHandedOff
		}
	}
	if !c.state.CompareAndSwap(stateIdle, stateActive) || err != nil || c.idle.n <= 0 {
		if c.idle.buf != nil {
			c.srv.bufs.Put(c.idle.buf)
		}
		return headClose
	}
	c.rd.AttachFilled(c.idle.buf, c.idle.n)
	return headReady
}

// resumeWait goes on waiting for a long-idle connection's next request on a new goroutine, whose
// small stack is then all that the connection costs besides its socket; once the client sends
// something (or the wait ends) it serves the connection.
func (c *clientConn) resumeWait() {
	c.waitErr = c.raw.Read(c.readIdleFn)
	c.serve()
}

// idleRead is the state of one awaitRequest: the buffer being read into and what the read gave.
type idleRead struct {
	buf []byte
	n   int // bytes read; 0 at EOF, -1 on error
}

// readIdle is called by the runtime's poller through RawConn.Read: it reads what the client has sent
// and reports true, or, when nothing is there yet, hands back the buffer and the backend connection
// and reports false to park until the socket becomes readable.
func (c *clientConn) readIdle(fd uintptr) bool {
	if c.idle.buf == nil {
		c.idle.buf = c.srv.bufs.Get()
	}
	for {
		n, err := syscall.Read(int(fd), c.idle.buf)
		switch err {
		case nil:
			c.idle.n = n
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			c.srv.bufs.Put(c.idle.buf)
			c.idle.buf = nil
			c.releaseBackend()
			c.releaseExchange()
			return false
		default:
			c.idle.n = -1
			return true
		}
	}
}

// exchangePool pools exchangeData. The zero value is ready to use.
type exchangePool struct{ p sync.Pool }

// Get returns exchange data, reused or new.
func (p *exchangePool) Get() *exchangeData {
	if ex, ok := p.p.Get().(*exchangeData); ok {
		return ex
	}
	return new(exchangeData)
}

// Put returns ex to the pool.
func (p *exchangePool) Put(ex *exchangeData) { p.p.Put(ex) }
