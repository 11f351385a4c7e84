package h2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"proxyd.dev/proxyd/internal/h2conn"
	"proxyd.dev/proxyd/internal/h2upstream"
)

// clientStream is one stream of a client connection: its request, the request body as it
// arrives, and the response its handler writes (w). Its fields are guarded by the connection's
// mu, but for those set before the handler starts and w, the handler's own.
type clientStream struct {
	c      *clientConn
	id     uint32
	req    http.Request // the request, in the stream to spare an allocation
	ctx    context.Context
	cancel context.CancelCauseFunc // ends ctx: the stream ended, or its handler returned
	// upstream is the call the connection's reader started for the stream (see Server.startInline),
	// which does not watch ctx: what ends ctx early cancels it too. Set once, under mu.
	upstream h2upstream.Call
	w        responseWriter
	// proxied is what the handler keeps of the stream (see Server.dispatch), here to spare an
	// allocation.
	proxied stream
	// needsContinue is set while a request that expects 100-continue has not had it.
	needsContinue bool

	cond       sync.Cond         // on the connection's mu: body bytes, the body's end or an error came
	body       h2conn.RecvBuffer // request body bytes not read yet
	recv       h2conn.Window     // what the client may still send on the stream
	recvBytes  int64             // request body bytes received
	wantLength int64             // the request's Content-Length, -1 when it has none
	trailer    http.Header       // the request's trailer fields, once they came
	recvEnd    bool              // the client ended its side (END_STREAM)
	sentEnd    bool              // the response ended (END_STREAM)
	removed    bool              // the stream is no longer the connection's
	bodyClosed bool              // the request body was closed: what comes is dropped
	err        error             // why the stream ended early
	readErr    error             // the read deadline passed: the body fails with it
	sendWindow int64             // what proxyd may still send on the stream
	readTimer  *time.Timer       // the read deadline's, once set
	writeTimer *time.Timer       // the write deadline's, once a write waited for the window
	// writeBy is the write deadline; the zero time when there is none.
	writeBy time.Time
	// refs counts who may still touch the stream: its handler, until it ended (handlerEnded), and
	// Server.start, until it has recorded the upstream call, which may run the handler before.
	// The last to let go may put the stream back in the server's pool (release).
	refs atomic.Int32
}

// errHandlerDone ends a stream's context once its handler returned.
var errHandlerDone = errors.New("h2: stream handler done")

// handleHeaders opens a stream for a request, or takes the trailer of an open one.
func (c *clientConn) handleHeaders(f *http2.MetaHeadersFrame) error {
	id := f.StreamID
	if id%2 != 1 { // RFC 9113 §5.1.1: client streams are odd
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.mu.Lock()
	if st := c.streams[id]; st != nil {
		defer c.mu.Unlock()
		return st.handleTrailer(f)
	}
	if id <= c.maxID { // §5.1.1: a new stream's id is higher than any before
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.maxID = id
	over, acked, calm := len(c.streams) >= MaxConcurrentStreams, c.acked, c.running >= maxHandlers
	c.mu.Unlock()
	switch {
	case calm:
		return http2.ConnectionError(http2.ErrCodeEnhanceYourCalm)
	case over && acked: // §5.1.2
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	case over:
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeRefusedStream}
	case f.HasPriority() && f.Priority.StreamDep == id: // §5.3.1
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	st, err := c.newStream(f)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	st.sendWindow = c.peerWindow
	c.streams[id] = st
	c.running++
	c.mu.Unlock()
	c.handlers.Add(1)
	c.s.dispatch(c, st, f.Truncated)
	return nil
}

// newStream returns the stream of a request whose head is f, or a stream error PROTOCOL_ERROR
// for a malformed one (RFC 9113 §8.1.1): pseudo-header fields missing or out of place (§8.3.1),
// a connection-specific field or TE other than "trailers" (§8.2.2), an :authority and Host that
// differ, an invalid Content-Length. A header list over the limit (f.Truncated) is not checked
// further: it is answered 431. An extended CONNECT (RFC 8441 §4: CONNECT with :protocol, and with
// :scheme, :path and :authority) keeps its :protocol in the request's Header under ":protocol",
// as net/http's HTTP/2 server and client do.
func (c *clientConn) newStream(f *http2.MetaHeadersFrame) (*clientStream, error) {
	malformed := http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
	method, scheme, authority, path := f.PseudoValue("method"), f.PseudoValue("scheme"), f.PseudoValue("authority"), f.PseudoValue("path")
	protocol := f.PseudoValue("protocol")
	switch {
	case protocol != "":
		if method != http.MethodConnect || scheme != "http" && scheme != "https" || path == "" || path[0] != '/' || authority == "" {
			return nil, malformed
		}
	case method == http.MethodConnect:
		if path != "" || scheme != "" || authority == "" {
			return nil, malformed
		}
	case method == "" || scheme != "http" && scheme != "https" || path == "" || path[0] != '/' && path != "*":
		return nil, malformed
	}
	fields := f.RegularFields()
	if !f.Truncated && !validRequestFields(fields) {
		return nil, malformed
	}
	st, _ := c.s.streams.Get().(*clientStream)
	if st == nil {
		st = new(clientStream)
	}
	header := c.fc.FillHeader(st.reusedHeader(), fields)
	authority, length, ok := hostAndLength(header, authority, f.StreamEnded())
	if !ok {
		return nil, malformed
	}
	*st = clientStream{c: c, id: f.StreamID, wantLength: length, recv: h2conn.NewWindow(clientStreamWindow), body: h2conn.NewRecvBuffer(&c.s.bufs)}
	st.refs.Store(1) // its handler's
	st.cond.L = &c.mu
	st.w.st = st
	st.ctx, st.cancel = context.WithCancelCause(c.ctx)
	if httpguts.HeaderValuesContainsToken(header["Expect"], "100-continue") {
		st.needsContinue = !f.StreamEnded()
		delete(header, "Expect")
	}
	if cookies := header["Cookie"]; len(cookies) > 1 { // §8.2.3
		header["Cookie"] = []string{strings.Join(cookies, "; ")}
	}
	req := &http.Request{
		Method:        method,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        header,
		Body:          st,
		ContentLength: length,
		Host:          authority,
		RemoteAddr:    c.remoteAddr,
		RequestURI:    path,
		Trailer:       declaredTrailer(header),
	}
	if protocol != "" {
		header[protocolField] = []string{protocol}
	} else if method == http.MethodConnect {
		req.RequestURI = authority
	}
	if f.StreamEnded() {
		req.Body, req.ContentLength, st.recvEnd = http.NoBody, 0, true
	}
	st.req = *req.WithContext(st.ctx)
	return st, nil
}

// maxReusedNames bounds the names of a request header whose map a later stream reuses (see
// reusedHeader): a map keeps the room of the most names it held, and a range over it visits all
// of that room.
const maxReusedNames = 32

// reusedHeader returns the header map of the request the stream had before it was put back for
// reuse, emptied, when it holds at most maxReusedNames names; else nil. Its room spares the next
// request's map allocations.
func (st *clientStream) reusedHeader() http.Header {
	h := st.req.Header
	if len(h) > maxReusedNames {
		return nil
	}
	clear(h)
	return h
}

// hostAndLength returns a request's authority, from :authority or the Host field (which must
// agree; Host is taken out of header), and its Content-Length, -1 when it has none; false when
// either is invalid, or when a request that ended with its head (ended) declares a body.
func hostAndLength(header http.Header, authority string, ended bool) (string, int64, bool) {
	if host := header["Host"]; len(host) > 1 || len(host) == 1 && authority != "" && host[0] != authority {
		return "", 0, false
	} else if len(host) == 1 {
		authority = host[0]
	}
	delete(header, "Host")
	if authority != "" && (!httpguts.ValidHostHeader(authority) || strings.IndexByte(authority, '@') >= 0) {
		return "", 0, false
	}
	length, ok := h2conn.ContentLength(header["Content-Length"])
	return authority, length, ok && !(ended && length > 0)
}

// validRequestFields reports whether fields have no connection-specific field and TE, if any, only
// once and as "trailers" (RFC 9113 §8.2.2).
func validRequestFields(fields []hpack.HeaderField) bool {
	if h2conn.ConnectionSpecific(fields) != "" {
		return false
	}
	te := 0
	for _, f := range fields {
		if f.Name == "te" {
			if te++; te > 1 || f.Value != "trailers" {
				return false
			}
		}
	}
	return true
}

// declaredTrailer returns the trailer fields the Trailer field declares, without values yet (nil
// when there are none), and removes the Trailer field; as net/http does, the framing fields are
// never trailers.
func declaredTrailer(header http.Header) http.Header {
	var trailer http.Header
	for _, v := range header["Trailer"] {
		for name := range strings.SplitSeq(v, ",") {
			switch name = textproto.CanonicalMIMEHeaderKey(textproto.TrimString(name)); name {
			case "", "Transfer-Encoding", "Trailer", "Content-Length":
			default:
				if trailer == nil {
					trailer = make(http.Header)
				}
				trailer[name] = nil
			}
		}
	}
	delete(header, "Trailer")
	return trailer
}

// handleTrailer takes the trailer of the request, which ends the stream (RFC 9113 §8.1). Under mu.
func (st *clientStream) handleTrailer(f *http2.MetaHeadersFrame) error {
	switch {
	case st.recvEnd: // §5.1: half-closed (remote)
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeStreamClosed}
	case !f.StreamEnded() || len(f.PseudoFields()) > 0:
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	trailer := st.c.fc.Header(f.RegularFields())
	for name := range trailer {
		if !httpguts.ValidTrailerHeader(name) {
			return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
		}
	}
	st.trailer = trailer
	return st.endRequest()
}

// endRequest records the end of the request (END_STREAM): its body must be as long as its
// Content-Length said (RFC 9113 §8.1.1). Under mu.
func (st *clientStream) endRequest() error {
	if st.wantLength >= 0 && st.recvBytes != st.wantLength {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	st.recvEnd = true
	st.cond.Broadcast()
	if st.sentEnd {
		st.complete()
	}
	return nil
}

// complete forgets a stream that ended both ways. Under mu.
func (st *clientStream) complete() {
	if !st.removed {
		st.removed = true
		st.stopTimers()
		st.c.streamEnded(st)
	}
}

// end ends the stream early with err (the first error stays): its handler's context ends, its
// body and its writes fail. Under mu.
func (st *clientStream) end(err error) {
	if st.removed {
		return
	}
	st.removed = true
	st.err = err
	st.cancel(err)
	if st.upstream != (h2upstream.Call{}) {
		go st.upstream.Cancel(err) // it may write to the backend: not under mu
	}
	st.stopTimers()
	st.cond.Broadcast()
	st.c.streamEnded(st)
}

// stopTimers stops the deadlines' timers. Under mu.
func (st *clientStream) stopTimers() {
	if st.readTimer != nil {
		st.readTimer.Stop()
	}
	if st.writeTimer != nil {
		st.writeTimer.Stop()
	}
}

// Read reads the request body, giving the client back its window as the body is read. At the end
// the declared trailer fields that came are in the request's Trailer.
func (st *clientStream) Read(p []byte) (int, error) {
	c := st.c
	c.mu.Lock()
	if st.needsContinue {
		st.needsContinue = false
		c.mu.Unlock()
		st.writeContinue()
		c.mu.Lock()
	}
	for st.body.Len() == 0 && !st.recvEnd && st.err == nil && st.readErr == nil && !st.bodyClosed {
		st.cond.Wait()
	}
	switch {
	case st.bodyClosed:
		c.mu.Unlock()
		return 0, http.ErrBodyReadAfterClose
	case st.body.Len() > 0:
		n, inc, connInc := h2conn.ReadData(&st.body, &st.recv, &c.recv, p, !st.recvEnd)
		c.mu.Unlock()
		c.fc.SendWindowUpdates(st.id, inc, connInc)
		return n, nil
	case st.readErr != nil:
		err := st.readErr
		c.mu.Unlock()
		return 0, err
	case st.recvEnd:
		for name := range st.req.Trailer {
			st.req.Trailer[name] = st.trailer[name]
		}
		c.mu.Unlock()
		return 0, io.EOF
	}
	err := st.err
	c.mu.Unlock()
	return 0, err
}

// Close closes the request body: what is buffered, and what comes later, is given back to the
// connection's window and dropped.
func (st *clientStream) Close() error {
	c := st.c
	c.mu.Lock()
	st.bodyClosed = true
	connInc := c.recv.Consumed(st.body.Discard())
	st.cond.Broadcast()
	c.mu.Unlock()
	c.fc.SendWindowUpdates(st.id, 0, connInc)
	return nil
}

// writeContinue sends the interim 100 (Continue) response a request that expects it gets when its
// body is first read (RFC 9110 §10.1.1).
func (st *clientStream) writeContinue() {
	c := st.c
	c.fc.Lock()
	c.mu.Lock()
	open, maxFrame := !st.removed, c.maxFrame
	c.mu.Unlock()
	if open {
		c.fc.StartBlock()
		c.fc.Field(":status", "100")
		c.fc.WriteBlock(st.id, false, maxFrame)
	}
	c.fc.Unlock()
}

// setReadDeadline sets the time after which reads of the request body fail with
// os.ErrDeadlineExceeded, for good; the zero time sets none.
func (st *clientStream) setReadDeadline(t time.Time) error {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.removed {
		return nil
	}
	st.readTimer = rearm(st.readTimer, t, func() {
		c.mu.Lock()
		st.readErr = fmt.Errorf("h2: request body: %w", os.ErrDeadlineExceeded)
		st.cond.Broadcast()
		c.mu.Unlock()
	})
	return nil
}

// setWriteDeadline sets the time after which the stream is reset (INTERNAL_ERROR) if its response
// waits for the client's flow-control credit; the zero time sets none. Only a write that waits arms
// a timer (awaitWindow): most responses never wait, and a write that does not wait cannot stall.
// A write that waits for the connection's socket is bounded by the connection's write timeout.
func (st *clientStream) setWriteDeadline(t time.Time) error {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	st.writeBy = t
	if st.writeTimer != nil {
		st.writeTimer.Stop()
	}
	return nil
}

// rearm sets timer to call f at t, making one when there is none; the zero t stops it.
func rearm(timer *time.Timer, t time.Time, f func()) *time.Timer {
	if t.IsZero() {
		if timer != nil {
			timer.Stop()
		}
		return timer
	}
	if timer == nil {
		return time.AfterFunc(time.Until(t), f)
	}
	timer.Reset(time.Until(t))
	return timer
}

// abort resets the stream with code because of err, unless it already ended; from a handler on a
// backend connection's reader, without waiting (see clientConn.lockWrites).
func (st *clientStream) abort(code http2.ErrCode, err error) {
	c := st.c
	c.mu.Lock()
	open := !st.removed
	st.end(err)
	c.mu.Unlock()
	if open {
		c.writeReset(st.id, code, st.w.onReader)
	}
}

// streamStart is what a stream's handler starts from (see runHandler).
type streamStart struct {
	c        *clientConn
	st       *clientStream
	tooLarge bool // the request's header list is over the limit: it is answered 431
	resumed  bool // the stream was started on the connection's reader (see Server.startInline)
	// finishing is the end of a response whose handler ran on a backend connection's reader,
	// which could not send it without waiting (see runHandler).
	finishing bool
}

// runHandler runs the stream's handler and ends its response: what the handler left pending goes
// with END_STREAM; a handler that panics resets the stream (http.ErrAbortHandler without a log
// line); a client still sending the request body is asked to stop (RST_STREAM NO_ERROR, RFC 9113
// §8.1). A handler on a backend connection's reader (Server.relayOnReader) whose response's end
// would wait for the client's flow-control credit leaves that end to a handler goroutine.
func (c *clientConn) runHandler(h streamStart) {
	st := h.st
	if !h.resumed {
		c.s.starting.Add(-1)
	}
	if h.finishing {
		st.w.onReader = false // this goroutine's now, and it may wait
	} else if !c.runStream(h) {
		return
	}
	if err := st.w.finish(); err == errWouldWait {
		c.s.handlers.Run(streamStart{c: c, st: st, resumed: true, finishing: true})
		return
	}
	c.mu.Lock()
	stillSending := !st.removed && !st.recvEnd
	c.mu.Unlock()
	if stillSending {
		st.abort(http2.ErrCodeNo, errHandlerDone)
	}
	c.handlerEnded(st, true)
}

// runStream runs the stream's handler. It reports false when the handler panicked: the stream is
// then reset, and the handler's end done.
func (c *clientConn) runStream(h streamStart) (ok bool) {
	st := h.st
	defer func() {
		if e := recover(); e != nil {
			if e != http.ErrAbortHandler {
				c.s.log.Error("stream handler panicked", "err", e, "stack", string(debug.Stack()))
			}
			st.abort(http2.ErrCodeInternal, errHandlerDone)
			c.handlerEnded(st, false) // what it left behind is not known
			ok = false
		}
	}()
	if h.resumed {
		c.s.resumeStream(&st.proxied)
	} else {
		c.s.serveStream(&st.proxied, h.tooLarge)
	}
	return true
}

// handlerEnded ends the stream's handler once its response ended: its context ends, and it no
// longer counts among the connection's handlers. A handler that returned (ok), rather than
// panicked, lets go of the stream for reuse (see release).
func (c *clientConn) handlerEnded(st *clientStream, ok bool) {
	st.cancel(errHandlerDone)
	c.s.cfg.Metrics.StreamClosed()
	onReader := st.w.onReader
	if ok {
		st.release() // the stream may be another's from here on
	}
	c.handlerDone(onReader)
	c.handlers.Done()
}

// release lets go of the stream. The last to let go puts it back in the server's pool, for a new
// stream to reuse, when nothing else can still reach it (reusable); else the collector takes it.
func (st *clientStream) release() {
	if st.refs.Add(-1) == 0 && st.reusable() {
		st.c.s.streams.Put(st)
	}
}

// reusable reports whether the stream, ended, was never reachable but from its connection (which
// forgot it: removed), its handler and Server.start: its request had no body (a body's reader
// and closer may outlive the handler, as net/http's RoundTripper contract allows), no deadline
// armed a timer (whose function may run after Stop), and its response-header timer is not left to
// fire (see headTimers.expired). Its upstream request ended with the handler: the relay read the
// response to its end or closed it, or the call failed.
func (st *clientStream) reusable() bool {
	if st.req.Body != http.NoBody || !st.proxied.timer.idle() {
		return false
	}
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	return st.removed && st.readTimer == nil && st.writeTimer == nil
}

// responseWriter is the http.ResponseWriter of a stream. The head is sent with the first body
// bytes, or at a flush; up to a frame of body bytes waits for the next write, a flush or the end,
// so that a small response leaves as HEADERS and DATA with END_STREAM in one write. The
// handler's own.
type responseWriter struct {
	st *clientStream
	// onReader is set when the handler runs on a backend connection's reader, which must not
	// wait (see Server.relayOnReader): a write whose DATA the client's windows have no room for
	// fails with errWouldWait, and the writes are left pending for the reader to flush. Set before
	// the handler runs, cleared by the handler goroutine that finishes the response for it; abort
	// reads it from a write deadline's timer too, which only a handler off the reader arms.
	onReader    bool
	header      http.Header
	trailer     http.Header // sent after the body, when it has fields
	status      int
	wroteHeader bool   // WriteHeader was called
	sentHeader  bool   // the HEADERS frame is written
	pending     []byte // body bytes not written yet
}

// Header returns the response's header, to set before WriteHeader.
func (w *responseWriter) Header() http.Header {
	if w.header == nil {
		w.header = make(http.Header)
	}
	return w.header
}

// WriteHeader sets the status; the head goes with the body (interim statuses are not sent).
func (w *responseWriter) WriteHeader(code int) {
	if !w.wroteHeader && code >= 200 {
		w.status, w.wroteHeader = code, true
	}
}

// Write adds p to the body; it fails once the stream has ended.
func (w *responseWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if len(w.pending)+len(p) <= h2conn.FrameSize {
		if err := w.st.ended(); err != nil {
			return 0, err
		}
		w.pending = append(w.pending, p...)
		return len(p), nil
	}
	if err := w.send(p, false); err != nil {
		return 0, err
	}
	return len(p), nil
}

// flush sends the head, what the body has pending and then p, without buffering p.
func (w *responseWriter) flush(p []byte) error {
	w.WriteHeader(http.StatusOK)
	return w.send(p, false)
}

// cancelRequest ends the request's context with cause, the stream staying open: its upstream
// request is abandoned and the handler answers the stream itself.
func (w *responseWriter) cancelRequest(cause error) {
	w.st.cancel(cause)
	w.st.upstreamCall().Cancel(cause)
}

// upstreamCall returns the call the connection's reader started for the stream (see
// Server.startInline), or the zero Call.
func (st *clientStream) upstreamCall() h2upstream.Call {
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	return st.upstream
}

// SetReadDeadline bounds the reads of the request body.
func (w *responseWriter) SetReadDeadline(t time.Time) error { return w.st.setReadDeadline(t) }

// SetWriteDeadline bounds the response: the stream is reset once t has passed while a write waits
// for the client's flow-control credit (see setWriteDeadline).
func (w *responseWriter) SetWriteDeadline(t time.Time) error { return w.st.setWriteDeadline(t) }

// finish ends the response: the head if not sent, what is pending, and the trailer, with
// END_STREAM. Its error is send's.
func (w *responseWriter) finish() error {
	w.WriteHeader(http.StatusOK)
	return w.send(nil, true)
}

// ended returns the stream's error once it has ended early, else nil.
func (st *clientStream) ended() error {
	st.c.mu.Lock()
	defer st.c.mu.Unlock()
	if st.removed && !st.sentEnd {
		return st.writeErr()
	}
	return nil
}

// writeErr is the error of a write to the stream once it ended. Under mu.
func (st *clientStream) writeErr() error {
	if st.err != nil {
		return st.err
	}
	return errStreamClosed
}

// send writes the head if it is not written yet, the pending body bytes and p as DATA frames
// within the flow-control windows, waiting for them as needed; with end, the trailer, if any, and
// END_STREAM.
func (w *responseWriter) send(p []byte, end bool) error {
	st, c := w.st, w.st.c
	withTrailer := end && len(w.trailer) > 0
	endData := end && !withTrailer
	left := len(w.pending) + len(p)
	c.lockWrites(w.onReader)
	c.mu.Lock()
	if st.removed {
		err := st.writeErr()
		c.mu.Unlock()
		c.unlockWrites(w.onReader)
		return err
	}
	if w.onReader && !st.windowsHold(int64(left)) {
		// Nothing is written: the writer must not wait for the client's credit.
		c.mu.Unlock()
		c.unlockWrites(true)
		return errWouldWait
	}
	maxFrame := c.maxFrame
	c.mu.Unlock()
	ended := false // END_STREAM is written
	if !w.sentHeader {
		c.fc.StartBlock()
		c.fc.Field(":status", statusDigits(w.status))
		c.fc.Fields(w.header, responseField)
		ended = endData && left == 0
		c.fc.WriteBlock(st.id, ended, maxFrame)
		w.sentHeader = true
	}
	for _, b := range [2][]byte{w.pending, p} {
		for len(b) > 0 {
			k, err := st.reserve(len(b))
			if err != nil {
				c.unlockWrites(w.onReader)
				return err
			}
			if k == 0 { // no window: flush what is written, wait, and go on
				c.fc.Unlock()
				if err := st.awaitWindow(); err != nil {
					return err
				}
				c.fc.Lock()
				continue
			}
			left -= k
			ended = endData && left == 0
			c.fc.Framer.WriteData(st.id, ended, b[:k])
			b = b[k:]
		}
	}
	w.pending = w.pending[:0]
	if endData && !ended {
		c.fc.Framer.WriteData(st.id, true, nil)
	}
	if withTrailer {
		c.fc.StartBlock()
		c.fc.Fields(w.trailer, func(string, []string) bool { return true })
		c.fc.WriteBlock(st.id, true, maxFrame)
	}
	if end {
		c.mu.Lock()
		st.sentEnd = true
		if st.recvEnd {
			st.complete()
		}
		c.mu.Unlock()
	}
	c.unlockWrites(w.onReader)
	return nil
}

// responseField reports whether a field of the response's head is sent: not a connection-specific
// one (RFC 9113 §8.2.2).
func responseField(name string, _ []string) bool { return !h2conn.IsConnectionField(name) }

// reserve takes up to n bytes of the stream's and the connection's send windows, and of the
// client's frame size; 0 when a window is empty. The error is the stream's, once it ended.
func (st *clientStream) reserve(n int) (int, error) {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.removed {
		return 0, st.writeErr()
	}
	return h2conn.Reserve(n, &st.sendWindow, &c.sendWindow, c.maxFrame), nil
}

// windowsHold reports whether the stream's and the connection's send windows both have room for
// n bytes. Under mu, with the write side held: only a writer holding it takes from the windows (a
// SETTINGS frame that shrinks them is applied under it too), so what it finds stays there for its
// own writes.
func (st *clientStream) windowsHold(n int64) bool {
	return st.sendWindow >= n && st.c.sendWindow >= n
}

// errWouldWait is a write on a backend connection's reader that would have waited for the
// client's flow-control credit, and wrote nothing.
var errWouldWait = errors.New("h2: the write would wait for the client's flow-control credit")

// awaitWindow waits until both send windows have room, or the stream ends.
func (st *clientStream) awaitWindow() error {
	c := st.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if st.windowsEmpty() && !st.writeBy.IsZero() {
		st.writeTimer = rearm(st.writeTimer, st.writeBy, func() { st.abort(http2.ErrCodeInternal, os.ErrDeadlineExceeded) })
	}
	for st.windowsEmpty() {
		c.sendCond.Wait()
	}
	if st.removed {
		return st.writeErr()
	}
	return nil
}

// windowsEmpty reports whether the stream, still open, has no room in its send window or the
// connection's. Under mu.
func (st *clientStream) windowsEmpty() bool {
	return !st.removed && (st.sendWindow <= 0 || st.c.sendWindow <= 0)
}

// statusDigits returns code in decimal, without allocating for the statuses proxyd answers or
// relays most.
func statusDigits(code int) string {
	switch code {
	case http.StatusOK:
		return "200"
	case http.StatusNoContent:
		return "204"
	case http.StatusPartialContent:
		return "206"
	case http.StatusMovedPermanently:
		return "301"
	case http.StatusFound:
		return "302"
	case http.StatusNotModified:
		return "304"
	case http.StatusBadRequest:
		return "400"
	case http.StatusNotFound:
		return "404"
	case http.StatusBadGateway:
		return "502"
	case http.StatusGatewayTimeout:
		return "504"
	}
	return strconv.Itoa(code)
}
