package h2

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

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

// stream is one proxied stream: what its logs say. Owned by the stream's handler goroutine.
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
	up      upstreamRequest // the request to the backend
}

// clientGone reports whether the client reset the stream or went away: its request's context
// ended for another cause than the response-header timeout.
func (st *stream) clientGone() bool {
	cause := context.Cause(st.r.Context())
	_, timedOut := cause.(*ResponseTimeoutError)
	return cause != nil && !timedOut
}

// serveStream is the handler of every stream, on a goroutine of its own (see clientConn.runHandler),
// so one stream's backend, body or failure never holds up another. It routes the stream by its own
// :path, rewrites it when --rewrite applies, and forwards it, or answers it itself: 431 for a
// header list over the limit (tooLarge), 400 for a path the router rejects, 405 for CONNECT unless
// allowed.
func (s *Server) serveStream(w *responseWriter, r *http.Request, tooLarge bool) {
	s.cfg.Metrics.StreamOpened()
	defer s.cfg.Metrics.StreamClosed()
	st := &w.st.proxied
	*st = stream{w: w, r: r, start: time.Now()}
	routes := s.routes.Load()
	uri := []byte(r.RequestURI) // matched, and rewritten when --rewrite applies
	m, err := routes.table.Match(uri)
	// The default backend's when err is set, for the logs and the metrics.
	st.backend = routes.backends[m.Backend]
	st.stats = routeStats{routes.stats.Routes[m.Route+1], routes.stats.Backends[m.Backend]}
	switch {
	case tooLarge:
		s.answer(st, http.StatusRequestHeaderFieldsTooLarge, "request header list too large", errHeaderListTooLarge)
		return
	case err != nil:
		s.answer(st, http.StatusBadRequest, "ambiguous request path", err)
		return
	}
	switch p := extendedProtocol(r); {
	case r.Method == http.MethodConnect && p == "" && !s.cfg.AllowConnect:
		s.answer(st, http.StatusMethodNotAllowed, "CONNECT refused", reply.ErrConnect)
		return
	case p != "" && p != "websocket":
		s.answer(st, http.StatusNotImplemented, "extended CONNECT protocol not supported", errUnsupportedProtocol)
		return
	}
	target := r.RequestURI
	if s.cfg.Rewrite && m.Route >= 0 {
		rewritten, err := router.Rewrite(nil, uri, m)
		if err != nil {
			s.answer(st, http.StatusBadRequest, "ambiguous rewritten path", err)
			return
		}
		target = string(rewritten)
	}
	s.forward(st, target)
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
	timer := &st.timer
	timer.backend, timer.limit, timer.w = b.addr, s.cfg.ResponseHeaderTimeout, st.w
	var body io.ReadCloser = http.NoBody
	if st.r.ContentLength == 0 || websocket {
		// A WebSocket's bytes go once the backend switched: its head is the whole request.
		timer.start()
	}
	if st.r.ContentLength != 0 {
		st.body = &streamBody{ReadCloser: st.r.Body, timer: timer}
		st.body.deadline = progressDeadline{set: st.w.SetReadDeadline, idle: s.cfg.IdleTimeout}
		defer st.body.handlerDone()
		body = st.body
	}
	req := st.up.build(ctx, st.r, b.addr, target, proto, body)
	if websocket {
		rt = websocketTransport{b.h1, websocketHandshake(req)}
	}
	if s.cfg.Forwarded != nil {
		s.cfg.Forwarded.EditHeader(req.Header, clientAddr(st.r.RemoteAddr))
	}
	resp, err := rt.RoundTrip(req)
	timer.stop()
	if err != nil {
		if cause, ok := context.Cause(ctx).(*ResponseTimeoutError); ok {
			err = cause
		}
		s.failed(st, b, err)
		return
	}
	defer resp.Body.Close()
	s.relay(st, resp)
}
