package engine

import (
	"net"
	"time"

	"proxyd.dev/proxyd/internal/tunnel"
	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/wire"
)

// relayResponse relays the final response whose head is in c.ex.resp to the client. It returns whether
// the client connection may carry another request.
func (c *clientConn) relayResponse(x *exchangeState, b *upstream.Conn, copier *requestBodyCopier) bool {
	framing := c.ex.resp.Framing(x.method)
	shutting := c.srv.shutting.Load()
	keepClient := !c.ex.x.clientClose && framing.Kind != wire.BodyUntilClose && !shutting
	x.status = c.ex.resp.Status

	buffered := b.Reader.Buffered()
	head := buffered[:c.ex.resp.Len]
	inline := 0
	if framing.Kind == wire.BodyLength && int64(len(buffered)-c.ex.resp.Len) >= framing.Length {
		inline = int(framing.Length)
	}
	c.conn.SetWriteDeadline(time.Now().Add(c.srv.cfg.IdleTimeout))
	var err error
	if shutting && !c.ex.resp.Close {
		c.ex.respHead = wire.AppendCloseHead(c.ex.respHead[:0], head)
		c.ex.parts = append(c.ex.partsArr[:0], c.ex.respHead, buffered[c.ex.resp.Len:c.ex.resp.Len+inline])
		_, err = c.ex.parts.WriteTo(c.conn)
	} else {
		_, err = c.conn.Write(buffered[:c.ex.resp.Len+inline])
	}
	b.Reader.Discard(c.ex.resp.Len + inline)
	x.bytes = int64(inline)
	clientGone := false
	if err == nil && inline == 0 {
		var w *disconnectWatcher
		if framing.Kind == wire.BodyChunked || framing.Kind == wire.BodyUntilClose {
			w = watchDisconnect(c.conn, b)
		}
		var n int64
		n, err = copyBody(c.conn, &b.Reader, b, framing, c.srv.cfg.IdleTimeout, nil)
		x.bytes += n
		clientGone = w != nil && w.stop()
	}
	if err != nil {
		if copier != nil {
			copier.stop()
		}
		c.dropBackend(b)
		if isWriteErr(err) || clientGone {
			x.status = statusClientClosed
			c.logFailure(x, "client went away during the response", err)
		} else {
			c.logFailure(x, "backend failed during the response body", err)
		}
		return false
	}

	reuseBackend := !c.ex.resp.Close && framing.Kind != wire.BodyUntilClose
	if copier != nil && copier.stop() != nil {
		// The backend answered before the request body was through: neither connection is at a
		// message boundary any more.
		reuseBackend, keepClient = false, false
	}
	if !reuseBackend {
		c.dropBackend(b)
	} else {
		b.Reused = true // kept for the next request, which the backend may no longer wait for
	}
	c.logExchange(x)
	return keepClient
}

// startTunnel answers 101 (or 2xx to CONNECT) and turns the client and backend connections into a
// raw tunnel until either side is done. The client connection ends with it.
func (c *clientConn) startTunnel(x *exchangeState, b *upstream.Conn, copier *requestBodyCopier) bool {
	if c.ex.resp.Status == 101 && !c.ex.head.Upgrade {
		return c.failResponse(x, b, copier, errUnaskedUpgrade)
	}
	if copier != nil {
		<-copier.done // an upgrade request with a body: the body goes first
	}
	x.status = c.ex.resp.Status
	c.conn.SetWriteDeadline(time.Now().Add(c.srv.cfg.IdleTimeout))
	if _, err := c.conn.Write(b.Reader.Buffered()[:c.ex.resp.Len]); err != nil {
		c.dropBackend(b)
		x.status = statusClientClosed
		c.logFailure(x, "client went away before the upgrade", err)
		return false
	}
	b.Reader.Discard(c.ex.resp.Len)
	for _, nc := range []*net.TCPConn{c.conn, b.TCPConn} {
		nc.SetDeadline(time.Time{})
	}
	t := tunnel.New(c.conn, b.TCPConn, c.srv.cfg.TunnelIdleTimeout, &c.srv.bufs)
	up, down := t.Run(c.rd.Buffered(), b.Reader.Buffered())
	c.rd.Reset(c.conn)
	c.dropBackend(b)
	x.bytes = down
	c.srv.log.Debug("tunnel closed", "client", c.conn.RemoteAddr(), "sent", up, "received", down)
	c.logExchange(x)
	return false
}
