package engine

import (
	"net"
	"time"

	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/proxyd/internal/proxyproto"
	"proxyd.dev/proxyd/internal/reply"
	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/router"
	"proxyd.dev/wire"
)

// exchange is one request and its response on a client connection, with scratch space reused from
// one exchange to the next. It is owned by the connection's goroutine; the request body copier
// reads only its own fields.
type exchange struct {
	head       wire.RequestHead    // the request head; its slices point into the client buffer
	reqParser  wire.RequestParser  // parses the request head being read
	resp       wire.ResponseHead   // the current response head; its slices point into the backend buffer
	respParser wire.ResponseParser // parses the response head being read

	start         time.Time        // when the head was read; set only for the access log and the metrics
	method        []byte           // copy of the method: the client buffer moves on while bodies stream
	target        []byte           // copy of the request-target, for the logs
	match         router.Match     // where the request was routed
	req           []byte           // the request as the client sent it: head and inline body
	pool          *upstream.Pool   // the pool of the backend the request was routed to; nil before
	stats         *metrics.Route   // the accounting of the route it took; nil before, or without metrics
	backendStats  *metrics.Backend // the accounting of its backend; nil before, or without metrics
	status        int              // status logged: the backend's, the proxy's answer, or 499
	bytes         int64            // response body bytes relayed
	received      int64            // request body bytes relayed (upstream tunnel bytes after an upgrade)
	headOnly      bool             // HEAD request: answers carry no body
	clientHeadLen int              // length of the head as the client sent it
	clientClose   bool             // the client closes after this exchange
	edited        []byte           // the forwarded head when it differs from the client's (see editHead)
	inline        int              // request body bytes sent along with the head
	interimSent   bool             // a 1xx response already reached the client

	relay    responsePlan       // how the response goes to the client
	ring     ringExchange       // the state of the exchange while a ring loop serves it
	copier   *requestBodyCopier // streams the request body; nil when it went with the head
	download wire.Progress      // the response body relay's progress, watched by the lifetime

	// Scratch space.
	stripped  []byte      // the request head without its h2c upgrade
	keepAlive []byte      // the request head without "Connection: close"
	forwarded []byte      // the request head with the client's address (--forwarded)
	rewritten []byte      // the rewritten request-target
	respHead  []byte      // the response head marked "Connection: close"
	unchunked []byte      // the response head without Transfer-Encoding, for an HTTP/1.0 client
	parts     net.Buffers // what one writev sends, laid out in partsArr
	partsArr  [maxParts][]byte
}

// maxParts bounds the slices of what one write sends: a head in three (the target rewritten)
// and an inline body.
const maxParts = 4

// exchange forwards the request in c.ex.head to its backend and relays the response. It returns
// whether the client connection may carry another request.
func (c *clientConn) exchange() bool {
	c.beginExchange()
	if r := c.planRequest(); r.status != 0 {
		return c.refuse(r)
	}
	return c.forward(nil)
}

// refusal is a request that goes to no backend: the status that answers it, why, and the error
// found; status 0 when the request may go.
type refusal struct {
	status int
	why    string
	err    error
}

// planRequest routes the request in c.ex.head and lays out what goes to its backend before any
// streamed body (c.ex.parts, from c.ex.req). It discards the request's bytes from the client
// buffer, where they stay until it is next filled; a refused request's head only.
func (c *clientConn) planRequest() refusal {
	ex := c.ex
	routes := c.srv.routes.Load()
	m, err := routes.table.Match(ex.head.Target)
	// The default backend's when err is set, for the logs and the metrics.
	ex.pool, ex.stats, ex.backendStats = routes.pools[m.Backend], routes.stats.Routes[m.Route+1], routes.stats.Backends[m.Backend]
	ex.match = m
	r := refusal{}
	switch {
	case err != nil:
		r = refusal{400, "ambiguous request path", err}
	case isConnect(ex.method) && !c.srv.cfg.AllowConnect:
		r = refusal{405, "CONNECT refused", reply.ErrConnect}
	case ex.head.H2C || (ex.clientClose && ex.head.Version == wire.HTTP11) || c.srv.cfg.Forwarded != nil:
		if err := c.editHead(); err != nil {
			r = refusal{400, "bad request head", err}
		}
	}
	if r.status != 0 {
		c.rd.Discard(ex.clientHeadLen)
		return r
	}
	if c.bodyCame(ex.clientHeadLen, ex.head.Body) {
		ex.inline = int(ex.head.Body.Length)
		ex.received = ex.head.Body.Length
	}
	// The request's bytes stay in the client buffer, though discarded, until it is next filled: a
	// retry lays them out again from req.
	ex.req = c.rd.Buffered()[:ex.clientHeadLen+ex.inline]
	if err := c.requestParts(); err != nil {
		c.rd.Discard(ex.clientHeadLen)
		return refusal{400, "ambiguous rewritten path", err}
	}
	c.rd.Discard(len(ex.req))
	return refusal{}
}

// forward sends the request planned in c.ex to its backend and relays the response, retrying
// once where shouldRetry allows. With sent set, the request went on sent already, and forward
// goes on from the wait for its response. It returns whether the client connection may carry
// another request.
func (c *clientConn) forward(sent *upstream.Conn) bool {
	ex := c.ex
	for attempt := 0; ; attempt++ {
		b, err := sent, error(nil)
		if attempt > 0 || b == nil {
			c.life.enter(phaseSend)
			if b, err = c.backendConn(ex.pool, attempt > 0); err != nil {
				return c.failDial(err)
			}
			err = c.sendRequest(b)
		}
		if err == nil {
			err = c.readFinalHead(b)
		}
		if err == nil {
			if ex.resp.Status == 101 || (isConnect(ex.method) && ex.resp.Status/100 == 2) {
				return c.startTunnel(b)
			}
			return c.relayResponse(b)
		}
		if attempt == 0 && c.shouldRetry(b, err) {
			c.dropBackend(b)
			c.requestParts() // the failed write consumed c.ex.parts; the path was checked
			continue
		}
		return c.failResponse(b, err)
	}
}

// bodyCame reports whether a request body so framed came whole with its head, of headLen bytes:
// it is buffered after the head.
func (c *clientConn) bodyCame(headLen int, body wire.Framing) bool {
	return body.Kind == wire.BodyLength && int64(len(c.rd.Buffered())-headLen) >= body.Length
}

// beginExchange readies c.ex for the exchange of the request head in it.
func (c *clientConn) beginExchange() {
	ex := c.ex
	ex.method = append(ex.method[:0], ex.head.Method...)
	ex.target = append(ex.target[:0], ex.head.Target...)
	ex.start = time.Time{}
	if c.srv.cfg.AccessLog || c.srv.cfg.Metrics != nil {
		ex.start = time.Now()
	}
	ex.status, ex.bytes, ex.received = 0, 0, 0
	ex.headOnly = string(ex.head.Method) == "HEAD"
	ex.clientHeadLen = ex.head.Len
	ex.clientClose = ex.head.Close
	ex.edited, ex.inline, ex.interimSent, ex.copier = nil, 0, false, nil
}

// editHead replaces c.ex.head by the head to forward when it differs from the client's: without an
// h2c upgrade (HTTP/2 over an upgraded connection would bypass per-request routing), without
// "Connection: close", which proxyd honours on the client connection while it keeps the backend
// connection for other requests, and with the client's address in the fields --forwarded names.
func (c *clientConn) editHead() error {
	ex := c.ex
	head := c.rd.Buffered()[:ex.clientHeadLen]
	reparse := false // the facts in ex.head change with the connection options
	if ex.head.H2C {
		ex.stripped = wire.StripH2CUpgrade(ex.stripped[:0], head)
		head, reparse = ex.stripped, true
	}
	if ex.clientClose && ex.head.Version == wire.HTTP11 {
		ex.keepAlive = wire.StripConnectionClose(ex.keepAlive[:0], head)
		head, reparse = ex.keepAlive, true
	}
	if c.srv.cfg.Forwarded != nil {
		var err error
		if ex.forwarded, err = c.srv.cfg.Forwarded.AppendHead(ex.forwarded[:0], head, c.addrs.peer.Addr()); err != nil {
			return err
		}
		head = ex.forwarded
	}
	ex.edited = head
	if !reparse {
		// Only the client-address fields and the Connection options naming them changed: they
		// frame nothing, and the request line, so TargetStart, is as the client sent it.
		return nil
	}
	return wire.ParseRequestHead(head, &ex.head)
}

// requestParts lays out the bytes that go to the backend before any streamed body: the head
// (with its target rewritten when --rewrite applies) and the inline body, from c.ex.req, the
// request as the client sent it, into c.ex.parts. The slices stay valid until the client buffer
// is next filled. It returns the router's error for a rewritten path that backends could read
// differently.
func (c *clientConn) requestParts() error {
	ex := c.ex
	head := ex.req[:ex.clientHeadLen]
	if ex.edited != nil {
		head = ex.edited
	}
	parts := ex.partsArr[:0]
	if c.srv.cfg.Rewrite && ex.match.Route >= 0 {
		var err error
		if ex.rewritten, err = router.Rewrite(ex.rewritten[:0], ex.head.Target, ex.match); err != nil {
			return err
		}
		ts, te := ex.head.TargetStart, ex.head.TargetStart+len(ex.head.Target)
		parts = append(parts, head[:ts], ex.rewritten, head[te:])
	} else {
		parts = append(parts, head)
	}
	if ex.inline > 0 {
		parts = append(parts, ex.req[ex.clientHeadLen:ex.clientHeadLen+ex.inline])
	}
	ex.parts = parts
	return nil
}

// backendConn returns a connection to the backend of pool: the kept one when it goes there and is
// still quiet, else one from the pool, or a fresh one when fresh is set (the retry).
func (c *clientConn) backendConn(pool *upstream.Pool, fresh bool) (*upstream.Conn, error) {
	if !fresh {
		if b := c.reuseBackend(pool); b != nil {
			return b, nil
		}
	}
	c.releaseBackend()
	get := pool.Get
	if fresh || c.srv.cfg.ProxyProtocol != 0 {
		get = pool.Dial
	}
	b, err := get()
	if err != nil {
		return nil, err
	}
	if c.srv.cfg.ProxyProtocol != 0 {
		if err := c.sendProxyHeader(b); err != nil {
			pool.Discard(b)
			return nil, err
		}
	}
	c.keepBackend(b, pool)
	return b, nil
}

// reuseBackend returns the kept backend connection when it goes to the backend of pool and is
// still quiet. Otherwise it returns nil, and gives the kept connection back to its pool, or
// drops it when it goes to that backend: it sent something or closed since its last response.
func (c *clientConn) reuseBackend(pool *upstream.Pool) *upstream.Conn {
	b := c.keptBackend(pool)
	if b != nil && !upstream.Quiet(b) {
		c.dropBackend(b)
		return nil
	}
	return b
}

// keptBackend is reuseBackend without asking the socket whether it is still quiet: only whether
// its Reader holds bytes. Its caller asks the socket before it writes a request.
func (c *clientConn) keptBackend(pool *upstream.Pool) *upstream.Conn {
	if c.backend != nil && c.backendPool == pool {
		if len(c.backend.Reader.Buffered()) == 0 {
			return c.backend
		}
		c.dropBackend(c.backend)
	}
	c.releaseBackend()
	return nil
}

// keepBackend makes b, of pool, the kept backend connection, interrupted with the client.
func (c *clientConn) keepBackend(b *upstream.Conn, pool *upstream.Pool) {
	c.backend, c.backendPool = b, pool
	c.life.useBackend(b.TCPConn)
}

// sendProxyHeader starts the new backend connection b with the PROXY protocol header that names
// the client and the address it connected to.
func (c *clientConn) sendProxyHeader(b *upstream.Conn) error {
	var buf [proxyproto.MaxHeaderLen]byte
	_, err := b.Write(proxyproto.AppendHeader(buf[:0], c.srv.cfg.ProxyProtocol, c.addrs.peer, c.addrs.local))
	return err
}

// dropBackend closes the current backend connection for good.
func (c *clientConn) dropBackend(b *upstream.Conn) {
	c.backendPool.Discard(b)
	c.backend = nil
	c.life.useBackend(nil)
}

// sendRequest writes the head (and inline body) to b and starts streaming the rest of the body,
// whose progress the lifetime watches; the response-header timeout starts once it is sent. A
// request that goes whole with its head, nearly every one, is written from within the wait for
// its response (upstream.Conn.SendAwait), which then spares a read.
func (c *clientConn) sendRequest(b *upstream.Conn) error {
	ex := c.ex
	streamed := ex.head.Body.Kind != wire.BodyNone && ex.inline == 0
	if !streamed {
		c.life.enter(phaseAwait) // the write takes no time unless the kernel refuses part of it
		if sent, err := b.SendAwait(&ex.parts); sent || err != nil {
			return err
		}
		c.life.enter(phaseSend)
	}
	if err := b.Send(&ex.parts); err != nil {
		return err
	}
	c.life.enter(phaseAwait)
	if streamed {
		ex.copier = &requestBodyCopier{c: c, b: b, framing: ex.head.Body, done: make(chan error, 1)}
		c.life.startUpload(&ex.copier.progress)
		go ex.copier.run()
	}
	return nil
}

// readFinalHead reads response heads from b into c.ex.resp, relaying interim 1xx responses (but 101)
// to the client, until a final head (or 101) is in c.ex.resp, still buffered in b.Reader.
func (c *clientConn) readFinalHead(b *upstream.Conn) error {
	ex := c.ex
	for {
		ex.respParser.Reset()
		if err := wire.ReadHead(&b.Reader, upstream.MaxResponseHeadSize, c.parseResponse); err != nil {
			return err
		}
		if ex.resp.Status >= 200 || ex.resp.Status == 101 {
			return nil
		}
		if ex.head.Version != wire.HTTP10 { // HTTP/1.0 clients get no interim responses (RFC 9110 §15.2)
			c.life.enter(phaseWrite)
			if _, err := c.sock.Write(b.Reader.Buffered()[:ex.resp.Len]); err != nil {
				return &wire.WriteError{Err: err}
			}
			ex.interimSent = true
			c.life.enter(phaseAwait)
		}
		b.Reader.Discard(ex.resp.Len)
	}
}

// parseResponse parses buf, the start of a response head, into c.ex.resp (see wire.ReadHead).
func (c *clientConn) parseResponse(buf []byte) error { return c.ex.respParser.Parse(buf, &c.ex.resp) }

// shouldRetry reports whether the request may go again, once, on a fresh connection after it
// failed with err on b: only a GET, HEAD or OPTIONS without a body, only when b had served earlier
// requests (the backend may have closed it while idle), and only when nothing of the response had
// come and nothing had gone to the client; never when a timeout or the client ended it.
func (c *clientConn) shouldRetry(b *upstream.Conn, err error) bool {
	ex := c.ex
	responseStarted := len(b.Reader.Buffered()) > 0 || ex.interimSent
	return upstream.MayRetry(string(ex.method), ex.head.Body.Kind != wire.BodyNone, b, responseStarted) &&
		!isTimeout(err) && !isWriteErr(err)
}

func isConnect(method []byte) bool { return string(method) == "CONNECT" }
