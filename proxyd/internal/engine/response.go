package engine

import (
	"proxyd.dev/proxyd/internal/reply"
	"proxyd.dev/proxyd/internal/tunnel"
	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/wire"
)

// relayResponse relays the final response whose head is in c.ex.resp to the client. It returns
// whether the client connection may carry another request.
func (c *clientConn) relayResponse(b *upstream.Conn) bool {
	ex := c.ex
	framing := ex.resp.Framing(ex.method)
	keepClient := !ex.clientClose && framing.Kind != wire.BodyUntilClose && !c.srv.shutting.Load()
	ex.status = ex.resp.Status

	buffered := b.Reader.Buffered()
	inline := 0
	if framing.Kind == wire.BodyLength && int64(len(buffered)-ex.resp.Len) >= framing.Length {
		inline = int(framing.Length)
	}
	c.life.enter(phaseWrite)
	var err error
	if !keepClient && !ex.resp.Close {
		// The client connection closes after this response: say so, in place of the backend's
		// keep-alive (RFC 9112 §9.6).
		ex.respHead = wire.AppendCloseHead(ex.respHead[:0], buffered[:ex.resp.Len])
		ex.parts = append(ex.partsArr[:0], ex.respHead, buffered[ex.resp.Len:ex.resp.Len+inline])
		_, err = ex.parts.WriteTo(c.conn)
	} else {
		_, err = c.sock.Write(buffered[:ex.resp.Len+inline])
	}
	b.Reader.Discard(ex.resp.Len + inline)
	ex.bytes = int64(inline)
	if err == nil && inline == 0 && framing.Kind != wire.BodyNone {
		b.Reader.SetProgress(&ex.download)
		c.life.relayBody(&ex.download)
		var n int64
		n, err = wire.CopyBody(c.conn, &b.Reader, framing)
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
	t := tunnel.New(c.conn, b.TCPConn, &c.srv.bufs)
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
