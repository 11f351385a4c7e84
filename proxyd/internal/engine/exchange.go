package engine

import (
	"time"

	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/router"
	"proxyd.dev/wire"
)

// exchangeState is what one request/response exchange needs beyond the parsed heads. Its method and
// target are copies: the client buffer moves on while the body streams.
type exchangeState struct {
	start         time.Time
	method        []byte
	target        []byte
	backend       int    // index of the backend in srv.pools
	status        int    // status logged: the backend's, the proxy's answer, or 499
	bytes         int64  // response body bytes relayed
	headOnly      bool   // HEAD request: answers carry no body
	clientHeadLen int    // length of the head as the client sent it
	clientClose   bool   // the client closes after this exchange
	edited        []byte // the forwarded head when it differs from the client's (see editHead)
	inline        int    // body bytes sent along with the head
	interimSent   bool   // a 1xx response already reached the client
}

// exchange forwards the request in c.ex.head to its backend and relays the response. It returns
// whether the client connection may carry another request.
func (c *clientConn) exchange() bool {
	x := c.beginExchange()
	m, err := c.srv.cfg.Routes.Match(c.ex.head.Target)
	if err != nil {
		c.rd.Discard(x.clientHeadLen)
		return c.refuse(x, 400, "ambiguous request path", err)
	}
	x.backend = m.Backend
	if c.ex.head.H2C || (x.clientClose && c.ex.head.Version == wire.HTTP11) {
		if err := c.editHead(); err != nil {
			c.rd.Discard(x.clientHeadLen)
			return c.refuse(x, 400, "bad upgrade request", err)
		}
	}
	if c.ex.head.Body.Kind == wire.BodyLength && int64(len(c.rd.Buffered())-x.clientHeadLen) >= c.ex.head.Body.Length {
		x.inline = int(c.ex.head.Body.Length)
	}
	// The request's bytes stay in the client buffer, though discarded, until it is next filled: a
	// retry lays them out again from req.
	req := c.rd.Buffered()[:x.clientHeadLen+x.inline]
	c.requestParts(m, req)
	c.rd.Discard(len(req))
	retriable := c.ex.head.Body.Kind == wire.BodyNone && idempotent(c.ex.head.Method)

	for attempt := 0; ; attempt++ {
		b, err := c.backendConn(m.Backend, attempt > 0)
		if err != nil {
			return c.failDial(x, err)
		}
		copier, err := c.sendRequest(b)
		if err == nil {
			err = c.readFinalHead(b, x)
		}
		if err == nil {
			if c.ex.resp.Status == 101 || (isConnect(x.method) && c.ex.resp.Status/100 == 2) {
				return c.startTunnel(x, b, copier)
			}
			return c.relayResponse(x, b, copier)
		}
		if retriable && attempt == 0 && b.Reused && len(b.Reader.Buffered()) == 0 && !x.interimSent && !isTimeout(err) && !isWriteErr(err) {
			c.dropBackend(b)
			c.requestParts(m, req) // the failed write consumed c.ex.parts
			continue
		}
		return c.failResponse(x, b, copier, err)
	}
}

func (c *clientConn) beginExchange() *exchangeState {
	x := &c.ex.x
	*x = exchangeState{
		start:         time.Now(),
		method:        append(x.method[:0], c.ex.head.Method...),
		target:        append(x.target[:0], c.ex.head.Target...),
		headOnly:      string(c.ex.head.Method) == "HEAD",
		clientHeadLen: c.ex.head.Len,
		clientClose:   c.ex.head.Close,
	}
	return x
}

// editHead replaces c.ex.head by the head to forward when it differs from the client's: without an
// h2c upgrade (HTTP/2 over an upgraded connection would bypass per-request routing), and without
// "Connection: close", which proxyd honours on the client connection while it keeps the backend
// connection for other requests.
func (c *clientConn) editHead() error {
	head := c.rd.Buffered()[:c.ex.x.clientHeadLen]
	if c.ex.head.H2C {
		c.ex.stripped = wire.StripH2CUpgrade(c.ex.stripped[:0], head)
		head = c.ex.stripped
	}
	if c.ex.x.clientClose && c.ex.head.Version == wire.HTTP11 {
		c.ex.keepAlive = wire.StripConnectionClose(c.ex.keepAlive[:0], head)
		head = c.ex.keepAlive
	}
	c.ex.x.edited = head
	return wire.ParseRequestHead(head, &c.ex.head)
}

// requestParts lays out the bytes that go to the backend before any streamed body: the head (with
// its target rewritten when --rewrite applies) and the inline body, from req, the request as the
// client sent it, into c.ex.parts. The slices stay valid until the client buffer is next filled.
func (c *clientConn) requestParts(m router.Match, req []byte) {
	x := &c.ex.x
	buffered := req
	head := buffered[:x.clientHeadLen]
	if x.edited != nil {
		head = x.edited
	}
	parts := c.ex.partsArr[:0]
	if c.srv.cfg.Rewrite && m.Route >= 0 {
		c.ex.target = router.Rewrite(c.ex.target[:0], c.ex.head.Target, m)
		ts, te := c.ex.head.TargetStart, c.ex.head.TargetStart+len(c.ex.head.Target)
		parts = append(parts, head[:ts], c.ex.target, head[te:])
	} else {
		parts = append(parts, head)
	}
	if x.inline > 0 {
		parts = append(parts, buffered[x.clientHeadLen:x.clientHeadLen+x.inline])
	}
	c.ex.parts = parts
}

// backendConn returns a connection to backend idx: the kept one when it goes there, else one
// from the pool, or a fresh one when fresh is set (the retry).
func (c *clientConn) backendConn(idx int, fresh bool) (*upstream.Conn, error) {
	if c.backend != nil && c.backendIdx == idx && !fresh {
		return c.backend, nil
	}
	c.releaseBackend()
	pool := c.srv.pools[idx]
	get := pool.Get
	if fresh {
		get = pool.Dial
	}
	b, err := get()
	if err != nil {
		return nil, err
	}
	c.backend, c.backendIdx = b, idx
	c.inUse.Store(b)
	return b, nil
}

// dropBackend closes the current backend connection for good.
func (c *clientConn) dropBackend(b *upstream.Conn) {
	c.srv.pools[c.backendIdx].Discard(b)
	c.backend = nil
	c.inUse.Store(nil)
}

// sendRequest writes the head (and inline body) to b and starts streaming the rest of the body.
// The response-header timeout starts once the whole request is sent.
func (c *clientConn) sendRequest(b *upstream.Conn) (*requestBodyCopier, error) {
	streamed := c.ex.head.Body.Kind != wire.BodyNone && c.ex.x.inline == 0
	b.SetWriteDeadline(time.Now().Add(c.srv.cfg.IdleTimeout))
	if streamed {
		b.SetReadDeadline(time.Time{}) // armed by the copier once the body is sent
	} else {
		b.SetReadDeadline(time.Now().Add(c.srv.cfg.ResponseHeaderTimeout))
	}
	if _, err := c.ex.parts.WriteTo(b); err != nil {
		return nil, err
	}
	if !streamed {
		return nil, nil
	}
	copier := &requestBodyCopier{c: c, b: b, framing: c.ex.head.Body, done: make(chan error, 1)}
	go copier.run()
	return copier, nil
}

// readFinalHead reads response heads from b into c.ex.resp, relaying interim 1xx responses (but 101)
// to the client, until a final head (or 101) is in c.ex.resp, still buffered in b.Reader.
func (c *clientConn) readFinalHead(b *upstream.Conn, x *exchangeState) error {
	for {
		if err := readHead(&b.Reader, MaxResponseHeadSize, func(buf []byte) error {
			return wire.ParseResponseHead(buf, &c.ex.resp)
		}); err != nil {
			return err
		}
		if c.ex.resp.Status >= 200 || c.ex.resp.Status == 101 {
			return nil
		}
		if c.ex.head.Version != wire.HTTP10 { // HTTP/1.0 clients get no interim responses (RFC 9110 §15.2)
			if _, err := c.conn.Write(b.Reader.Buffered()[:c.ex.resp.Len]); err != nil {
				return &wire.WriteError{Err: err}
			}
			x.interimSent = true
		}
		b.Reader.Discard(c.ex.resp.Len)
	}
}

// idempotent reports whether a body-less request with this method may be sent again after its
// first attempt failed on a reused connection before any response byte.
func idempotent(method []byte) bool {
	switch string(method) {
	case "GET", "HEAD", "OPTIONS":
		return true
	}
	return false
}

func isConnect(method []byte) bool { return string(method) == "CONNECT" }
