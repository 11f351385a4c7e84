package h2

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"proxyd.dev/proxyd/internal/h2conn"
	"proxyd.dev/proxyd/internal/h2upstream"
	"proxyd.dev/proxyd/internal/reply"
	"proxyd.dev/router"
)

var (
	// errHeaderListTooLarge is a request whose header list is over SETTINGS_MAX_HEADER_LIST_SIZE.
	errHeaderListTooLarge = errors.New("request header list over the limit")
	// errConnectUpstream is an allowed CONNECT whose default backend speaks only HTTP/1.1: a
	// tunnel over a stream is forwarded as a stream, to an h2c backend only.
	errConnectUpstream = errors.New("CONNECT over HTTP/2 is forwarded only to a backend that speaks h2c")
)

// stream is one proxied stream: what its logs say. The connection's reader sets it up and routes it
// (dispatch); then it is the stream's handler goroutine's.
type stream struct {
	w       *responseWriter
	r       *http.Request
	start   time.Time
	backend *backend        // the backend the stream was routed to, set right after routing
	stats   routeStats      // the accounting of its route and backend
	status  int             // the status answered or relayed; reply.StatusClientClosed when the client left
	bytes   int64           // response body bytes relayed
	body    *streamBody     // the request body forwarded, when there is one
	timer   headTimer       // the response-header timer of its upstream request
	routing routing         // where the router sent it
	up      upstreamRequest // the request to the backend
	// call is the upstream call of a stream started on the connection's reader (see startInline),
	// set once the head, or the call's failure, came.
	call h2upstream.Call
	// startErr is why a stream that waited for a backend connection (see startInline) could not
	// start: the dial's error.
	startErr error
}

// clientGone reports whether the client reset the stream or went away: its request's context
// ended for another cause than the response-header timeout.
func (st *stream) clientGone() bool {
	cause := context.Cause(st.r.Context())
	_, timedOut := cause.(*ResponseTimeoutError)
	return cause != nil && !timedOut
}

// dispatch routes a new stream, on its connection's reader, and starts it: on the reader itself
// when that costs no wait (startInline), else on a handler of its own (serveStream). A header list
// over the limit (tooLarge) always gets a handler, which answers 431.
func (s *Server) dispatch(c *clientConn, cs *clientStream, tooLarge bool) {
	s.cfg.Metrics.StreamOpened()
	st := &cs.proxied
	*st = stream{w: &cs.w, r: &cs.req, start: time.Now(), timer: headTimer{w: &cs.w, list: &c.heads}}
	s.route(st)
	if !tooLarge && s.startInline(c, cs) {
		return // its handler runs once the response head comes
	}
	s.starting.Add(1)
	s.handlers.Run(streamStart{c: c, st: cs, tooLarge: tooLarge})
}

// routing is where the router sent a stream: the request-target to forward, rewritten when
// --rewrite applies, or, for a path it refused, why and its error.
type routing struct {
	target  string
	refused string
	err     error
}

// route routes the stream by its :path: it sets st.backend and st.stats (the default backend's
// when the path is refused, for the logs and the metrics) and st.routing.
func (s *Server) route(st *stream) {
	routes := s.routes.Load()
	uri := []byte(st.r.RequestURI)
	m, err := routes.table.Match(uri)
	st.backend = routes.backends[m.Backend]
	st.stats = routeStats{routes.stats.Routes[m.Route+1], routes.stats.Backends[m.Backend]}
	switch {
	case err != nil:
		st.routing = routing{refused: "ambiguous request path", err: err}
	case !s.cfg.Rewrite || m.Route < 0:
		st.routing = routing{target: st.r.RequestURI}
	default:
		rewritten, err := router.Rewrite(nil, uri, m)
		if err != nil {
			st.routing = routing{refused: "ambiguous rewritten path", err: err}
		} else {
			st.routing = routing{target: string(rewritten)}
		}
	}
}

// serveStream is the handler of every stream the connection's reader did not start itself, on a
// goroutine of its own (see clientConn.runHandler), so one stream's backend, body or failure never
// holds up another. It forwards the stream as dispatch routed it, or answers it itself: 431 for a
// header list over the limit (tooLarge), 400 for a path the router refused, 405 for CONNECT unless
// allowed, 501 for an extended CONNECT for another protocol than WebSocket.
func (s *Server) serveStream(st *stream, tooLarge bool) {
	switch p := extendedProtocol(st.r); {
	case tooLarge:
		s.answer(st, http.StatusRequestHeaderFieldsTooLarge, "request header list too large", errHeaderListTooLarge)
	case st.routing.err != nil:
		s.answer(st, http.StatusBadRequest, st.routing.refused, st.routing.err)
	case st.r.Method == http.MethodConnect && p == "" && !s.cfg.AllowConnect:
		s.answer(st, http.StatusMethodNotAllowed, "CONNECT refused", reply.ErrConnect)
	case p != "" && p != "websocket":
		s.answer(st, http.StatusNotImplemented, "extended CONNECT protocol not supported", errUnsupportedProtocol)
	default:
		s.forward(st, st.routing.target)
	}
}

// startInline starts a stream on its connection's reader rather than on a handler of its own,
// when that costs no wait: a request without a body, routed to a backend known to speak h2c with
// an open connection that has room for it and is not backed up (h2upstream.Transport.Reserve). Its
// HEADERS wait on the backend connection for the reader's next flush (see
// clientConn.flushStarted), so that the streams of one read leave in one write, and its handler
// runs once the response head comes (resumeStream): on the backend connection's reader when the
// whole response came at once and relaying it waits for nothing (relayOnReader), else on a
// handler of its own. So a stream costs one hand-over between goroutines, or none, rather than
// two. When no connection has room, the stream waits for the one dialled for it, on no goroutine
// of its own, and starts from the dialling goroutine (h2upstream.Transport.AwaitRoom); when the
// backend's protocol is not known, it waits so for the probe (backend.awaitProtocol): a burst of
// streams to a backend not probed yet, or whose connections are closed or full, is not a burst of
// goroutines. It returns false, having sent nothing, for any other stream, whose handler then
// starts at once.
func (s *Server) startInline(c *clientConn, cs *clientStream) bool {
	st, r := &cs.proxied, &cs.req
	if !cs.recvEnd || r.Method == http.MethodConnect || st.routing.err != nil {
		return false
	}
	b := streamBackend(cs.ctx, st.backend)
	p := protocol(b.proto.Load())
	if p == protoUnknown {
		start := func(p protocol, err error) { s.startProbed(c, cs, b, p, err) }
		var waiting bool
		if p, waiting = b.awaitProtocol(start); waiting {
			return true
		}
	}
	if p != protoH2C {
		return false
	}
	call, ok := s.startH2C(c, cs, b)
	if call != (h2upstream.Call{}) {
		c.started = append(c.started, call)
	}
	return ok
}

// startH2C starts a stream that startInline starts on a connection to b, an h2c backend: at once
// when one has room, returning the call, whose HEADERS wait for the caller's flush; else once the
// connection dialled for it is open (h2upstream.Transport.AwaitRoom), returning the zero Call. It
// reports false, having done neither, when a connection has room but is backed up.
func (s *Server) startH2C(c *clientConn, cs *clientStream, b *backend) (h2upstream.Call, bool) {
	if room, ok := b.h2c.Reserve(); ok {
		return s.start(c, cs, b, room), true
	}
	return h2upstream.Call{}, b.h2c.AwaitRoom(func(room h2upstream.Reservation, err error) {
		if err != nil {
			s.failStart(c, cs, err)
			return
		}
		s.start(c, cs, b, room)
	})
}

// startProbed goes on with a stream that startInline made wait for the probe of b, which found p
// or failed with err, on the probe's goroutine: on an h2c connection as startInline would, else
// on a handler of its own.
func (s *Server) startProbed(c *clientConn, cs *clientStream, b *backend, p protocol, err error) {
	if err != nil {
		s.failStart(c, cs, err)
		return
	}
	if p == protoH2C {
		call, ok := s.startH2C(c, cs, b)
		if call != (h2upstream.Call{}) {
			call.Flush()
		}
		if ok {
			return
		}
	}
	s.starting.Add(1)
	s.handlers.Run(streamStart{c: c, st: cs})
}

// failStart answers a stream that could not start, err being why (the dial's error), on a
// handler of its own.
func (s *Server) failStart(c *clientConn, cs *clientStream, err error) {
	cs.proxied.startErr = err
	s.handlers.Run(streamStart{c: c, st: cs, resumed: true})
}

// start sends the request of a stream that startInline started on room, a connection of backend
// b, and returns its call; the HEADERS wait there for the caller's flush.
func (s *Server) start(c *clientConn, cs *clientStream, b *backend, room h2upstream.Reservation) h2upstream.Call {
	st := &cs.proxied
	req := s.upstreamRequest(st, b, st.routing.target, protoH2C, http.NoBody)
	st.timer.start(time.Now())
	cs.refs.Add(1) // the call may run the handler to its end before it is recorded below
	defer cs.release()
	call := room.Start(req, func(call h2upstream.Call, complete bool) *h2conn.Conn {
		st.call = call
		if complete && s.relayOnReader(c, cs) {
			return c.fc
		}
		s.handlers.Run(streamStart{c: c, st: cs, resumed: true})
		return nil
	})
	c.mu.Lock()
	cs.upstream = call
	ended, err := cs.removed, cs.err // the stream ended before its call was there to cancel
	c.mu.Unlock()
	if ended {
		call.Cancel(err)
	}
	return call
}

// relayOnReader runs the handler of a stream whose whole response came at once on the backend
// connection's reader, which calls it (see h2upstream.Done), when that cannot make the reader
// wait: the client's connection is not backed up, and the response has a known length and a body
// of at most a frame, which the relay keeps pending (see responseWriter.Write), so that it is
// sent at the response's end alone. That end is written, and left pending on the client's
// connection for the reader to flush without waiting (h2conn.Conn.FlushNoWait), when the client's
// flow-control windows have room for the body; else a handler goroutine sends it (see
// clientConn.runHandler). So most responses need no hand-over between goroutines, and a client
// slow to read or to give credit holds up no other stream of the backend connection. It reports
// whether it ran the handler.
func (s *Server) relayOnReader(c *clientConn, cs *clientStream) bool {
	call := cs.proxied.call
	resp, err := call.Result() // at once: the response came
	if err != nil || resp.ContentLength < 0 || call.Buffered() > h2conn.FrameSize || c.fc.Backlogged() {
		return false
	}
	cs.w.onReader = true
	c.runHandler(streamStart{c: c, st: cs, resumed: true})
	return true
}

// resumeStream is the handler of a stream started by startInline, run once its response head, or
// its failure, came, or once the connection it waited for could not be opened (startErr): it
// relays the response, or answers 502/504, as forward does.
func (s *Server) resumeStream(st *stream) {
	var resp *http.Response
	err := st.startErr
	if err == nil {
		resp, err = st.call.Result()
	}
	s.respond(st, streamBackend(st.r.Context(), st.backend), resp, err)
}

// forward sends the stream to its backend and relays the response, or answers 502/504 when no
// response head comes. A WebSocket (an extended CONNECT) goes as an HTTP/1.1 handshake (see
// websocket.go).
func (s *Server) forward(st *stream, target string) {
	ctx := st.r.Context()
	b := streamBackend(ctx, st.backend)
	websocket := extendedProtocol(st.r) != ""
	proto, rt := protoHTTP1, http.RoundTripper(b.h1)
	if !websocket {
		var err error
		if proto, rt, err = b.transport(ctx); err != nil {
			s.failed(st, b, err)
			return
		}
		if st.r.Method == http.MethodConnect && proto != protoH2C {
			s.answer(st, http.StatusBadGateway, "CONNECT refused", errConnectUpstream)
			return
		}
	}
	var body io.ReadCloser = http.NoBody
	if st.r.ContentLength != 0 {
		st.body = &streamBody{ReadCloser: st.r.Body, timer: &st.timer}
		st.body.deadline = progressDeadline{set: st.w.SetReadDeadline, idle: s.cfg.IdleTimeout}
		defer st.body.handlerDone()
		body = st.body
	}
	req := s.upstreamRequest(st, b, target, proto, body)
	if st.r.ContentLength == 0 || websocket {
		// A WebSocket's bytes go once the backend switched: its head is the whole request.
		st.timer.start(time.Now())
	}
	if websocket {
		rt = websocketTransport{b.h1, websocketHandshake(req)}
	}
	resp, err := rt.RoundTrip(req)
	s.respond(st, b, resp, err)
}

// upstreamRequest builds the request that carries the stream to backend b over proto, with target
// as its request-target and body as its body, and the Forwarded fields when they are on; it readies
// the stream's response-header timer for b, for its caller to start.
func (s *Server) upstreamRequest(st *stream, b *backend, target string, proto protocol, body io.ReadCloser) *http.Request {
	st.timer.backend = b.addr
	req := st.up.build(st.r.Context(), st.r, b.addr, target, proto, body)
	if s.cfg.Forwarded != nil {
		s.cfg.Forwarded.EditHeader(req.Header, clientAddr(st.r.RemoteAddr))
	}
	return req
}

// respond relays the response of the stream's upstream request, or answers its failure (err) from
// backend b: 504 when the response-header timeout ended it, else as failed says.
func (s *Server) respond(st *stream, b *backend, resp *http.Response, err error) {
	if st.timer.stop() && err == nil {
		// The head came as the timer fired, which cancels the request and cuts the body off.
		resp.Body.Close()
		resp, err = nil, st.timer.err()
	}
	if err != nil {
		if cause, ok := context.Cause(st.r.Context()).(*ResponseTimeoutError); ok {
			err = cause
		}
		s.failed(st, b, err)
		return
	}
	defer resp.Body.Close()
	s.relay(st, resp)
}
