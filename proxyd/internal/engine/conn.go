package engine

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"

	"proxyd.dev/proxyd/internal/netpoll"
	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/wire"
)

// clientConn is one client connection. Unless a field says otherwise it is owned by the goroutine
// serving the connection (serve, then resumeWait after a hand-off), one at a time; while its wait
// is parked in the idle set, by none.
type clientConn struct {
	srv  *Server
	conn *net.TCPConn
	// life owns the connection's timeouts; its methods are safe for concurrent use.
	life lifetime
	// rd buffers the client connection; the request body copier owns it while it runs.
	rd wire.Reader

	// ring is the connection's state while a ring loop serves it; its loop owns it then.
	ring ringConn

	// backend is the backend connection kept between consecutive requests to the same backend;
	// backendPool is its pool.
	backend     *upstream.Conn
	backendPool *upstream.Pool

	// ex is held while a request is read or relayed, pooled while the connection waits for the
	// next one.
	ex   *exchange
	idle idleRead // the state of one wait for a request, for readIdle
	// readIdleFn serves the wait for a request; made once so that waiting allocates nothing.
	readIdleFn func(fd uintptr) bool
	// sock reads the request heads and bodies (through rd) and writes the response heads: the
	// frequent small calls of an exchange (see netpoll.Socket). Its RawConn serves the waits.
	sock netpoll.Socket
	// addrs are the connection's addresses, set only when --forwarded or --proxy-protocol needs
	// them: every connection holds the pointer, idle or not.
	addrs *clientAddrs
	// requested is set once a request head has been read: waits for a request are between requests
	// from then on.
	requested bool
	// busy is set while the last wait between requests was brief, over before the sweeper saw it:
	// the next such wait runs on this goroutine however many others do (see maxGoroutineWaits).
	// Server.busy counts the connections that have it set (setBusy).
	busy bool
	// linger asks finish to drain what the client still sends before closing, so that the answer
	// just written is not destroyed by a reset.
	linger bool
	// askedDrained is set once the socket was asked to report the reads that drain it
	// (netpoll.ReportDrained), as the first wait that serves requests within it does.
	askedDrained bool
}

// clientAddrs are a client connection's addresses: the client's and the one it connected to.
type clientAddrs struct{ peer, local netip.AddrPort }

func newClientConn(s *Server, nc *net.TCPConn) *clientConn {
	c := &clientConn{srv: s, conn: nc}
	c.sock.Init(nc) // a *net.TCPConn from Accept is set up: it always has a RawConn
	c.life.init(c, &c.sock, s.idle)
	c.rd.Reset(&c.sock)
	c.rd.SetPipeBudget(s.pipes)
	c.readIdleFn = c.readIdle
	if s.cfg.Forwarded != nil || s.cfg.ProxyProtocol != 0 {
		c.addrs = &clientAddrs{
			peer:  nc.RemoteAddr().(*net.TCPAddr).AddrPort(),
			local: nc.LocalAddr().(*net.TCPAddr).AddrPort(),
		}
	}
	return c
}

// headResult is what nextRequest comes to.
type headResult int

const (
	headReady     headResult = iota // a request head is in c.ex.head
	headClose                       // the connection is to be closed
	headHandedOff                   // served elsewhere now: parked, by a new goroutine, a ring loop or the HTTP/2 server
	headFromLoop                    // a ring loop gave the connection back: go on where it left (fromLoop)
)

// serve runs the connection from its first request until the client or the proxy closes it.
func (c *clientConn) serve() { c.run(c.nextRequest()) }

// run serves requests, starting with the outcome r of the wait for the first, until the
// connection closes or its wait is handed to another goroutine.
func (c *clientConn) run(r headResult) {
	defer func() {
		if p := recover(); p != nil {
			c.srv.log.Error("connection handler panicked", "client", c.conn.RemoteAddr(), "panic", p, "stack", string(debug.Stack()))
			c.finish()
		}
	}()
	for {
		switch r {
		case headHandedOff:
			return
		case headClose:
			c.finish()
			return
		case headFromLoop:
			r = c.fromLoop()
			continue
		}
		if !c.serveRequest() {
			c.finish()
			return
		}
		r = c.nextRequest()
	}
}

// serveRequest serves the request in c.ex.head and reports whether the connection may carry
// another: neither the exchange nor shutdown ends it.
func (c *clientConn) serveRequest() bool { return c.exchange() && !c.srv.shutting.Load() }

// nextRequest reads the next request head into c.ex.head. When no byte of it is there yet, the
// connection waits holding neither a buffer nor a backend connection; a wait that outlasts
// handoffAfter, or that may not run on this goroutine (waitForRequest), moves off it (handOff)
// and nextRequest returns headHandedOff. A wait may serve requests within it (serveWithin), and
// end only once one of them leaves it something else to do.
func (c *clientConn) nextRequest() headResult {
	for {
		if len(c.rd.Buffered()) > 0 { // pipelined
			c.life.enter(phaseHead)
			return c.readRequestHead()
		}
		if c.srv.loops.engaged() {
			return c.waitOnLoop()
		}
		if !c.beginWait() {
			return headClose
		}
		err := c.waitForRequest()
		switch c.idle.then {
		case thenPark:
			c.handOff()
			return headHandedOff
		case thenExchange:
			return headReady
		case thenClose:
			return headClose
		case thenNext:
			continue
		case thenReadHead:
			return c.readRequestHead()
		}
		if isTimeout(err) && c.life.why() == causeHandoff {
			c.handOff()
			return headHandedOff
		}
		return c.afterWait(err)
	}
}

// waitOnLoop gives the wait for the next request, the first one too, to the server's ring loops
// (headHandedOff); headClose when shutdown has begun, or closed the connection meanwhile.
func (c *clientConn) waitOnLoop() headResult {
	if !c.beginWait() {
		return headClose
	}
	if !c.srv.loops.admit(c) {
		return c.afterWait(net.ErrClosed)
	}
	return headHandedOff
}

// waitForRequest reads the first bytes of the next request into c.idle, waiting for them on this
// goroutine if need be. Between requests, when the wait could be parked instead, a connection that
// is not busy waits here only while fewer than maxGoroutineWaits others do; otherwise, finding
// nothing there yet, it gives up at once (thenPark) for nextRequest to park the wait. The waits
// that are not counted so, but the first, serve what they read within them (serveWithin).
func (c *clientConn) waitForRequest() error {
	switch {
	case !c.requested:
	case c.waitsWithin():
		c.idle.within = true
	case c.srv.goroutineWaits.take():
		defer c.srv.goroutineWaits.give()
	default:
		c.idle.parkNow = true
	}
	return c.sock.RawConn().Read(c.readIdleFn)
}

// beginWait readies the wait for the next request, which holds no buffer but the one it reads
// into; it reports false, readying nothing, when shutdown has begun.
func (c *clientConn) beginWait() bool {
	c.life.beginWait(c.requested)
	if c.srv.shutting.Load() {
		return false
	}
	c.idle = idleRead{buf: c.rd.Detach()}
	return true
}

// waitsWithin reports whether the connection's next wait for a request, between requests, runs
// on its goroutine whatever the count of such waits (see maxGoroutineWaits): where there is no
// idle set, or when the connection is busy.
func (c *clientConn) waitsWithin() bool { return c.srv.idle == nil || c.busy }

// handOff moves the wait for the next request off the goroutine that served the previous one,
// whose stack has grown: into the server's idle set, where the connection costs no goroutine until
// the client sends something or leaves (or the wait ends), or, where that fails, to a new goroutine
// with a small stack (not a worker, whose stack has grown too).
func (c *clientConn) handOff() {
	parked, err := c.life.park(c)
	if err != nil {
		c.srv.log.Debug("idle connection not parked: it waits on a goroutine", "client", c.conn.RemoteAddr(), "err", err)
	}
	if !parked {
		go c.resumeWait()
	}
}

// wake continues a parked wait, whose client sent something, left or timed out, on a worker of
// the server (resumeWait). It is the idle set's ready function, so it must not block.
func (c *clientConn) wake() { c.srv.workers.Run(connWork{c: c, from: fromPark}) }

// resumeWait goes on with a handed-off wait: it reads what the client sent, or waits for it
// first, and serves the connection; a wait that ended (the idle timeout, shutdown, the client
// leaving) closes it.
func (c *clientConn) resumeWait() {
	c.idle.parkNow, c.idle.within = false, false
	c.run(c.afterWait(c.sock.RawConn().Read(c.readIdleFn)))
}

// afterWait reads the request head whose first bytes the wait for a request brought, err being
// how the wait ended.
func (c *clientConn) afterWait(err error) headResult {
	if !c.endWait(err) {
		return headClose
	}
	return c.readRequestHead()
}

// setBusy sets or clears busy, and counts the change in Server.busy.
func (c *clientConn) setBusy(busy bool) {
	if busy == c.busy {
		return
	}
	c.busy = busy
	if busy {
		c.srv.busy.Add(1)
	} else {
		c.srv.busy.Add(-1)
	}
}

// endWait ends the wait for a request, err being how it ended, and buffers what it read. It
// reports false when there is nothing to read a head from: the wait failed, the client left, or
// shutdown closed the connection.
func (c *clientConn) endWait(err error) bool {
	open, brief := c.life.endWait(c.requested)
	c.setBusy(c.requested && brief)
	if !open || err != nil || c.idle.n <= 0 {
		if c.idle.buf != nil {
			c.srv.bufs.Put(c.idle.buf)
		}
		return false
	}
	c.rd.AttachFilled(c.idle.buf, int(c.idle.n))
	return true
}

// startHead readies c.ex for the next request head.
func (c *clientConn) startHead() {
	if c.ex == nil {
		c.ex = c.srv.exchanges.Get()
	}
	c.ex.reqParser.Reset()
}

// readRequestHead reads the request head whose first bytes are buffered into c.ex.head
// (headReady), or answers and logs why it could not (headClose). A connection whose first bytes are
// the HTTP/2 client preface goes to the HTTP/2 server instead (headHandedOff); one whose first line
// is the preface's but the rest is not is closed unanswered, a connection error (RFC 9113 §3.4).
func (c *clientConn) readRequestHead() headResult {
	if !c.requested && c.opensWithH2Preface() {
		return c.serveH2()
	}
	if !c.requested && wire.InvalidH2Preface(c.rd.Buffered()) {
		c.srv.log.Info("invalid HTTP/2 client preface", "client", c.conn.RemoteAddr(), "bytes", len(c.rd.Buffered()))
		return headClose
	}
	c.startHead()
	return c.headRead(wire.ReadHead(&c.rd, c.srv.cfg.MaxHeaderSize, c.parseHead))
}

// parseHead parses buf, the start of a request head, into c.ex.head (see wire.ReadHead).
func (c *clientConn) parseHead(buf []byte) error { return c.ex.reqParser.Parse(buf, &c.ex.head) }

// headRead is what reading a request head that failed with err (nil: none) comes to.
func (c *clientConn) headRead(err error) headResult {
	if err == nil {
		c.requested = true
		return headReady
	}
	c.headFailed(err)
	return headClose
}

// headFailed answers and logs a request head that could not be read: too large (431), malformed
// (the parser's status), too slow (408); a client that closed mid-head is only logged, and so is a
// connection whose first line names no protocol at all: neither HTTP/1.x nor HTTP/2 (an invalid
// preface is a connection error, RFC 9113 §3.4), it is closed unanswered.
func (c *clientConn) headFailed(err error) {
	var we *wire.Error
	switch {
	case errors.As(err, &we) && !c.requested && wire.ForeignRequestLine(c.rd.Buffered()):
		c.srv.log.Info("not an HTTP request", "client", c.conn.RemoteAddr(), "bytes", len(c.rd.Buffered()))
	case errors.Is(err, wire.ErrHeadTooLarge):
		c.answer(431, true, false)
		c.srv.log.Info("request head too large", "client", c.conn.RemoteAddr(), "limit", c.srv.cfg.MaxHeaderSize)
	case errors.As(err, &we):
		c.answer(we.Status, true, false)
		c.srv.log.Info("bad request head", "client", c.conn.RemoteAddr(), "status", we.Status, "err", err)
	case isTimeout(err) && c.life.why() == causeHeadTimeout:
		c.answer(408, true, false)
		c.srv.log.Info("request head timeout", "client", c.conn.RemoteAddr(), "bytes", len(c.rd.Buffered()))
	case len(c.rd.Buffered()) > 0:
		c.srv.log.Info("client closed mid-head", "client", c.conn.RemoteAddr(), "err", err)
	}
}

// opensWithH2Preface reads until the buffered first bytes of the connection either start with the
// HTTP/2 client preface (RFC 9113 §3.4) or cannot; a read that fails leaves the decision to the
// HTTP/1.x head reader, which reads again and answers the failure.
func (c *clientConn) opensWithH2Preface() bool {
	for {
		match, more := wire.MatchH2Preface(c.rd.Buffered())
		if !more {
			return match
		}
		if _, err := c.rd.Fill(); err != nil {
			return false
		}
	}
}

// serveH2 hands the connection, with the bytes read so far, to the HTTP/2 server, which owns it
// from then on, with its own timeouts: it leaves the server's tracked connections (the sweeper and
// the HTTP/1.x shutdown no longer see it) and is served on this goroutine until it ends or waits
// idle without one (h2.Config.ParkAfter); the HTTP/2 server closes it.
func (c *clientConn) serveH2() headResult {
	buffered := bytes.Clone(c.rd.Buffered())
	c.release()
	if !c.srv.h2.ServeConn(c.conn, c.sock.RawConn(), buffered, c.srv.cfg.Metrics.ClientConnClosed) {
		c.srv.log.Info("HTTP/2 connection refused: shutting down", "client", c.conn.RemoteAddr())
	}
	return headHandedOff
}

// finish closes the connection and gives back what it holds.
func (c *clientConn) finish() {
	if c.linger {
		c.lingerClose()
	}
	c.conn.Close()
	c.srv.cfg.Metrics.ClientConnClosed()
	c.release()
}

// release gives back what the connection holds but the socket, and forgets it.
func (c *clientConn) release() {
	c.setBusy(false)
	c.releaseBackend()
	c.rd.Reset(&c.sock)
	if buf := c.rd.Detach(); buf != nil {
		c.srv.bufs.Put(buf)
	}
	c.releaseExchange()
	c.srv.untrack(c)
}

// releaseExchange gives the exchange data back to the server's pool.
func (c *clientConn) releaseExchange() {
	if c.ex != nil {
		c.ex.copier = nil // it points back at this connection
		c.srv.exchanges.Put(c.ex)
		c.ex = nil
	}
}

// abort ends the connection and the backend connection its exchange uses, whatever they are
// doing (end of the shutdown grace period); a tunnel ends with them. It shuts both connections
// down both ways, which ends every read and write on them at once, and leaves closing them to the
// goroutine or the ring loop that serves them: a close would wait for the read in progress (an
// exchange served within the wait for its request runs inside one, see serveWithin), and a ring
// loop's calls name the descriptor, which a close would free for another socket.
func (c *clientConn) abort() {
	c.conn.CloseRead()
	c.conn.CloseWrite()
	c.life.mu.Lock()
	if b := c.life.backend; b != nil {
		b.CloseRead()
		b.CloseWrite()
	}
	c.life.mu.Unlock()
}

// releaseBackend gives the kept backend connection back to its pool.
func (c *clientConn) releaseBackend() {
	switch {
	case c.backend == nil:
	case c.srv.cfg.ProxyProtocol != 0:
		c.dropBackend(c.backend) // it carries this client's address: never pooled
	default:
		c.backendPool.Put(c.backend)
		c.backend = nil
		c.life.useBackend(nil)
	}
}

// idleRead is the state of one wait for a request: the buffer being read into and what the read
// gave.
type idleRead struct {
	buf []byte
	n   int32 // bytes read; 0 at EOF, -1 on error
	// parkNow makes readIdle give up instead of waiting when nothing is there yet (then
	// thenPark). within lets it serve what it read without leaving the wait (serveWithin), and
	// drained says that the last request so served left the socket empty.
	parkNow, within, drained bool
	then                     thenWhat // how the connection goes on after the wait
}

// thenWhat is how a connection goes on after a wait for a request.
type thenWhat uint8

const (
	thenRead     thenWhat = iota // read the head whose first bytes the wait read (or close)
	thenPark                     // the wait gave up, for nextRequest to park it
	thenExchange                 // serve the head in c.ex.head
	thenClose                    // close the connection
	thenNext                     // an exchange served within the wait ended: on to the next request
	thenReadHead                 // read the rest of the head begun in the buffer
	thenServe                    // serve the head in c.ex.head within the wait (see headWithin)
)

// readIdle is called by the runtime's poller through RawConn.Read: it reads what the client has sent
// and reports true, or, when nothing is there yet, hands back the buffer, the backend connection and
// the exchange data, and reports false to wait until the socket becomes readable (true, having
// given up, with c.idle.parkNow). A backend connection that carries this client's PROXY protocol
// header stays with it instead: no other client may have it. A wait within which requests are
// served (c.idle.within) goes on from one to the next (serveWithin), and after a read that
// drained the socket (netpoll.TryReadDrained), waits without reading first.
func (c *clientConn) readIdle(fd uintptr) bool {
	if c.idle.within && !c.askedDrained {
		netpoll.ReportDrained(fd)
		c.askedDrained = true
	}
	for !c.idle.drained {
		if c.idle.buf == nil {
			c.idle.buf = c.srv.bufs.Get()
		}
		var n int
		var drained, wouldBlock bool
		var err error
		if c.idle.within {
			n, drained, wouldBlock, err = netpoll.TryReadDrained(fd, c.idle.buf)
		} else {
			n, wouldBlock, err = netpoll.TryRead(fd, c.idle.buf)
		}
		switch {
		case wouldBlock:
			return c.idleEmpty()
		case err != nil:
			c.idle.n = -1
			return true
		}
		c.idle.n = int32(n)
		if n == 0 || !c.idle.within || !c.serveWithin(drained) {
			return true
		}
	}
	c.idle.drained = false
	return c.idleEmpty()
}

// idleEmpty is readIdle finding nothing to read yet: it hands back the buffer, the backend
// connection and the exchange data, and reports whether to give up rather than wait
// (c.idle.parkNow, then thenPark).
func (c *clientConn) idleEmpty() bool {
	c.releaseForWait()
	if c.idle.parkNow {
		c.idle.then = thenPark
	}
	return c.idle.parkNow
}

// releaseForWait gives back what a wait for a request that may last holds: the buffer, the backend
// connection and the exchange data. A backend connection that carries this client's PROXY protocol
// header stays with it: no other client may have it.
func (c *clientConn) releaseForWait() {
	if c.idle.buf != nil {
		c.srv.bufs.Put(c.idle.buf)
		c.idle.buf = nil
	}
	if c.srv.cfg.ProxyProtocol == 0 {
		c.releaseBackend()
	}
	c.releaseExchange()
}

// serveWithin serves the request whose first bytes the wait just read, and then waits for the
// next one, without leaving the wait: Go's poller forgets what it learnt of a socket's readiness
// when a wait begins, so a new wait would read first, and find nothing unless the client
// pipelines. Within one wait the poller remembers, and a read that drained the socket, leaving
// nothing to read and no end pending (drained), need not be followed by one that finds nothing:
// any byte or end that came since has made the socket ready again. The wait holds the socket's
// read lock meanwhile, so it serves only an exchange that reads nothing from the client: a whole
// head, no body beyond what came with it, no upgrade, no CONNECT. It reports true when the
// connection then waits for its next request within the same wait (c.idle set for it), or false,
// with c.idle.then saying how the connection goes on.
func (c *clientConn) serveWithin(drained bool) bool {
	then, err := c.headWithin()
	if err != nil {
		c.headFailed(err)
	}
	switch {
	case then != thenServe:
		c.idle.then = then
		return false
	case !c.serveRequest():
		c.idle.then = thenClose
		return false
	case len(c.rd.Buffered()) > 0 || !c.waitsWithin() || c.srv.loops.engaged():
		c.idle.then = thenNext
		return false
	case !c.beginWait():
		c.idle.then = thenClose
		return false
	}
	c.idle.within, c.idle.drained = true, drained
	return true
}

// headWithin ends the wait for a request and parses the head whose first bytes it read, reading
// nothing more: thenServe when the head is whole and its exchange reads nothing more from the
// client either (servableWithin), thenExchange when it is whole but the exchange does, thenReadHead
// when it is not whole, thenClose when there is no head (the wait failed, the client left, or
// shutdown closed the connection) or, with the error to answer, when it is malformed.
func (c *clientConn) headWithin() (thenWhat, error) {
	if !c.endWait(nil) {
		return thenClose, nil
	}
	c.startHead()
	err := wire.ParseHead(&c.rd, c.srv.cfg.MaxHeaderSize, c.parseHead)
	switch {
	case errors.Is(err, wire.ErrIncomplete):
		return thenReadHead, nil
	case err != nil:
		return thenClose, err
	}
	c.requested = true
	if !c.servableWithin() {
		return thenExchange, nil
	}
	return thenServe, nil
}

// servableWithin reports whether the exchange of the request head in c.ex.head reads nothing from
// the client: no body beyond what came with the head, no upgrade, no CONNECT.
func (c *clientConn) servableWithin() bool {
	h := &c.ex.head
	switch {
	case h.Upgrade || isConnect(h.Method):
		return false
	case h.Body.Kind == wire.BodyNone:
		return true
	}
	return c.bodyCame(h.Len, h.Body)
}

// pool pools values of type T. The zero value is ready to use.
type pool[T any] struct{ p sync.Pool }

// Get returns a value, reused or new.
func (p *pool[T]) Get() *T {
	if v, ok := p.p.Get().(*T); ok {
		return v
	}
	return new(T)
}

// Put returns v to the pool.
func (p *pool[T]) Put(v *T) { p.p.Put(v) }
