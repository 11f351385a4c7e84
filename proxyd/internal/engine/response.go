package engine

import (
	"proxyd.dev/proxyd/internal/reply"
	"proxyd.dev/proxyd/internal/tunnel"
	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/wire"
)

// relayResponse relays the final response whose head is in c.ex.resp to the client. It returns
// whether the client connection may carry another request.
//
// An HTTP/1.0 client reads no transfer coding (RFC 9112 §6.1), which a backend may still use: a
// chunked body reaches it as its data alone, without Transfer-Encoding, ended by the connection's
// close, as nginx relays it; a body in another coding cannot, and is answered 502.
func (c *clientConn) relayResponse(b *upstream.Conn) bool {
	if err := c.planResponse(b); err != nil {
		return c.failResponse(b, err)
	}
	c.life.enter(phaseWrite)
	return c.finishResponse(b, c.writeParts())
}

// responsePlan is how a response goes to the client.
type responsePlan struct {
	framing    wire.Framing // the response body's
	dechunk    bool         // its chunked body goes to an HTTP/1.0 client as its data alone
	keepClient bool         // the client connection may carry another request after it
	inline     int          // body bytes buffered with the head, which go with it: all or none
}

// planResponse works out how the final response whose head is in c.ex.resp, buffered in
// b.Reader, goes to the client (c.ex.relay), and lays out its head and the body bytes that go
// with it in c.ex.parts. It fails for a response that an HTTP/1.0 client cannot read.
func (c *clientConn) planResponse(b *upstream.Conn) error {
	ex := c.ex
	framing := ex.resp.Framing(ex.method)
	http10 := ex.head.Version == wire.HTTP10
	if http10 && framing.Kind != wire.BodyNone && ex.resp.Coded() {
		return errCodedForHTTP10
	}
	dechunk := http10 && framing.Kind == wire.BodyChunked
	keepClient := !dechunk && !ex.clientClose && framing.Kind != wire.BodyUntilClose && !c.srv.shutting.Load()
	ex.status = ex.resp.Status

	buffered := b.Reader.Buffered()
	inline := 0
	if framing.Kind == wire.BodyLength && int64(len(buffered)-ex.resp.Len) >= framing.Length {
		inline = int(framing.Length)
	}
	if dechunk || !keepClient && !ex.resp.Close {
		// The client connection closes after this response: say so, in place of the backend's
		// keep-alive (RFC 9112 §9.6).
		head := buffered[:ex.resp.Len]
		if dechunk {
			ex.unchunked = wire.AppendWithoutFields(ex.unchunked[:0], head, isTransferEncoding)
			head = ex.unchunked
		}
		ex.respHead = wire.AppendCloseHead(ex.respHead[:0], head)
		ex.parts = append(ex.partsArr[:0], ex.respHead, buffered[ex.resp.Len:ex.resp.Len+inline])
	} else {
		ex.parts = append(ex.partsArr[:0], buffered[:ex.resp.Len+inline])
	}
	ex.relay = responsePlan{framing: framing, dechunk: dechunk, keepClient: keepClient, inline: inline}
	return nil
}

// writeParts writes c.ex.parts to the client: one write(2) for one part, else one writev(2).
func (c *clientConn) writeParts() error {
	var err error
	if len(c.ex.parts) == 1 {
		_, err = c.sock.Write(c.ex.parts[0])
	} else {
		_, err = c.ex.parts.WriteTo(c.conn)
	}
	return err
}

// finishResponse relays the rest of the response planned in c.ex.relay, whose head went to the
// client with err (nil: whole), and ends the exchange. It returns whether the client connection
// may carry another request.
func (c *clientConn) finishResponse(b *upstream.Conn, err error) bool {
	ex := c.ex
	framing, dechunk, keepClient, inline := ex.relay.framing, ex.relay.dechunk, ex.relay.keepClient, ex.relay.inline
	b.Reader.Discard(ex.resp.Len + inline)
	ex.bytes = int64(inline)
	if err == nil && inline == 0 && framing.Kind != wire.BodyNone {
		b.Reader.SetProgress(&ex.download)
		c.life.relayBody(&ex.download)
		var n int64
		// Through the client's socket, a wire.TCPSink: its writes are raw system calls, and a large
		// body is spliced to its connection.
		if dechunk {
			n, err = wire.CopyDechunked(&c.sock, &b.Reader)
		} else {
			n, err = wire.CopyBody(&c.sock, &b.Reader, framing)
		}
		b.Reader.SetProgress(nil)
		ex.bytes += n
	} else if err != nil {
		err = &wire.WriteError{Err: err}
	}
	if err != nil {
		if ex.copier != nil {
			ex.copier.finish()
		}
		c.dropBackend(b)
		c.bodyFailed(err)
		return false
	}

	reuseBackend := !ex.resp.Close && framing.Kind != wire.BodyUntilClose
	if ex.copier != nil {
		if err, cut := ex.copier.finish(); cut || err != nil {
			// The backend answered before the request body was through: neither connection is at
			// a message boundary any more.
			reuseBackend, keepClient = false, false
		}
	}
	if !reuseBackend {
		c.dropBackend(b)
	} else {
		b.Reused = true // kept for the next request, which the backend may no longer wait for
	}
	c.record()
	return keepClient
}

// isTransferEncoding reports whether the field name is Transfer-Encoding.
func isTransferEncoding(name []byte) bool { return wire.FieldNameEqual(name, "Transfer-Encoding") }

// startTunnel answers 101 (or 2xx to CONNECT) and turns the client and backend connections into a
// raw tunnel until either side is done. The client connection ends with it.
func (c *clientConn) startTunnel(b *upstream.Conn) bool {
	ex := c.ex
	if ex.resp.Status == 101 && !ex.head.Upgrade {
		return c.failResponse(b, errUnaskedUpgrade)
	}
	if ex.copier != nil {
		if err := ex.copier.wait(); err != nil { // an upgrade request with a body: the body goes first
			return c.failResponse(b, err)
		}
	}
	ex.status = ex.resp.Status
	c.life.enter(phaseWrite)
	if _, err := c.sock.Write(b.Reader.Buffered()[:ex.resp.Len]); err != nil {
		c.dropBackend(b)
		ex.status = reply.StatusClientClosed
		c.logFailure("client went away before the upgrade", err)
		return false
	}
	b.Reader.Discard(ex.resp.Len)
	t := tunnel.New(&c.sock, b.Socket(), &c.srv.bufs)
	c.setBusy(false) // no more waits for a request: none of the load the ring loops serve from
	c.life.runTunnel(t)
	c.srv.cfg.Metrics.TunnelOpened()
	up, down := t.Run(c.rd.Buffered(), b.Reader.Buffered())
	c.srv.cfg.Metrics.TunnelClosed()
	c.rd.Reset(&c.sock)
	c.dropBackend(b)
	ex.bytes, ex.received = down, ex.received+up
	c.srv.log.Debug("tunnel closed", "client", c.conn.RemoteAddr(), "sent", up, "received", down)
	c.record()
	return false
}
