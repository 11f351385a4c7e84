package h2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"proxyd.dev/proxyd/internal/bufpool"
	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/wire"
)

// h1Transport is the http.RoundTripper of the streams routed to one backend that speaks HTTP/1.1
// only: proxyd's own HTTP/1.1 client, reading responses with wire's parser under the limits the
// HTTP/1.x engine applies, so that a response the engine would refuse is refused on a stream too.
//
// It writes each request head itself (see appendRequestHead), streams the request body on a
// goroutine of its own while it reads the response head, skips interim 1xx responses, and decodes
// the response body from its framing. Connections come from its pool, checked before every reuse,
// and go back to it once an exchange left them fit for another request (see h1Exchange.end).
// Its methods are safe for concurrent use.
type h1Transport struct {
	pool *upstream.Pool
	// proxyHeader, when set, is the PROXY protocol header written first on every new connection:
	// the transport, and its pool, then serve one client connection only (see connBackends).
	proxyHeader []byte
	// idle bounds how long the backend may take no byte of a request body being written.
	idle time.Duration
	// tunnelIdle bounds how long a WebSocket may go without a byte moving either way.
	tunnelIdle time.Duration
	// bufs holds the buffers request heads are laid out in and request bodies copied through.
	bufs *bufpool.Pool
}

// Response heads the HTTP/1.1 upstream refuses besides those wire refuses, as the engine does; each
// comes in an *invalidResponseError.
var (
	// errUnaskedSwitch is a 101 answer: proxyd never forwards an upgrade over a stream.
	errUnaskedSwitch = errors.New("backend switched protocols on a request without an upgrade")
	// errCoded is a body in a transfer coding other than chunked, which an HTTP/2 response cannot
	// carry (Transfer-Encoding is connection-specific, RFC 9113 §8.2.2), and which the request,
	// sent without TE, did not accept (RFC 9110 §10.1.4).
	errCoded = errors.New("backend answered in a transfer coding other than chunked")
)

// invalidResponseError is a response head that wire refuses, or that proxyd cannot take: the
// backend's fault, answered 502.
type invalidResponseError struct{ err error }

func (e *invalidResponseError) Error() string { return "invalid response head: " + e.err.Error() }
func (e *invalidResponseError) Unwrap() error { return e.err }

// backendStalledError is a backend that took no byte of a request body for the idle timeout while
// proxyd was writing it: answered 504, as the engine does.
type backendStalledError struct {
	backend string
	idle    time.Duration
}

func (e *backendStalledError) Error() string {
	return fmt.Sprintf("backend %s took no byte of the request body for %v", e.backend, e.idle)
}

// requestBodyError is a stream's request body that could not be forwarded for the client's sake:
// reading it failed (the client reset the stream, or its body stalled, see streamBody), or it was
// longer or shorter than its Content-Length.
type requestBodyError struct{ err error }

func (e *requestBodyError) Error() string { return "reading the request body: " + e.err.Error() }
func (e *requestBodyError) Unwrap() error { return e.err }

// unforwardableError is a stream that has no HTTP/1.1 form: HTTP/2 carries any field value in
// :method and :path, so a method that is not a token, or a request-target with a byte that is not
// VCHAR or obs-text (a space), reaches the transport; in a request line it would split the line.
// Answered 400.
type unforwardableError struct{ what, value string }

func (e *unforwardableError) Error() string {
	return fmt.Sprintf("%s %q cannot be forwarded in an HTTP/1.1 request line", e.what, e.value)
}

// RoundTrip sends req to the backend and returns the response once its head has come, its body
// still to read. req.URL.RequestURI() is the request-target (see targetURL), req.Host the Host
// field, req.Header the other fields, req.Body the body (nil or http.NoBody for none) with
// req.ContentLength bytes (-1: unknown) and req.Trailer the stream's trailers; the request's
// context ends the exchange. A GET, HEAD or OPTIONS without a body that fails on a reused
// connection before any response byte is sent once more on a new connection.
func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.exchange(req, "")
}

// websocketTransport is the http.RoundTripper of a WebSocket handshake (see websocketHandshake)
// over an h1Transport: a 101 with accept as its Sec-WebSocket-Accept is returned as a 200 whose
// Body is the backend's side of the WebSocket, the request's Body is sent only after it, as is,
// and the end of that body half-closes the connection. The connection is never reused; it closes
// once the tunnel has been idle for the transport's tunnelIdle. The handshake is sent again on a
// new connection only as RoundTrip sends a GET again: when the client's side carries no bytes.
type websocketTransport struct {
	t      *h1Transport
	accept string
}

func (w websocketTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return w.t.exchange(req, w.accept)
}

// exchange is RoundTrip, or with accept set the WebSocket handshake that expects it.
func (t *h1Transport) exchange(req *http.Request, accept string) (*http.Response, error) {
	body := req.Body
	hasBody := body != nil && body != http.NoBody
	buf := t.bufs.Get()
	defer t.bufs.Put(buf)
	head, err := appendRequestHead(buf[:0], req, hasBody && accept == "")
	if err != nil {
		closeBody(body)
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		c, err := t.conn(attempt > 0)
		if err != nil {
			closeBody(body)
			return nil, err
		}
		x := &h1Exchange{t: t, c: c, req: req, accept: accept, reusable: true, uploadEnded: !hasBody}
		resp, err := x.roundTrip(head, body)
		if err == nil {
			return resp, nil
		}
		if attempt > 0 || req.Context().Err() != nil || !upstream.MayRetry(req.Method, hasBody, c, x.responseStarted) {
			return nil, err
		}
	}
}

// closeBody closes a request body that will not be sent.
func closeBody(body io.ReadCloser) {
	if body != nil {
		body.Close()
	}
}

// conn returns a connection for a request: an idle one from the pool or a new one, always a new
// one when fresh is set (the retry). A new connection first gets the PROXY protocol header, if any.
func (t *h1Transport) conn(fresh bool) (*upstream.Conn, error) {
	var c *upstream.Conn
	var err error
	if fresh {
		c, err = t.pool.Dial()
	} else {
		c, err = t.pool.Get()
	}
	if err != nil {
		return nil, err
	}
	if !c.Reused && t.proxyHeader != nil {
		if _, err := c.Write(t.proxyHeader); err != nil {
			t.pool.Discard(c)
			return nil, err
		}
	}
	return c, nil
}

// appendRequestHead appends to dst the HTTP/1.1 head of req (see RoundTrip for what its fields
// hold): the request line with the request-target as it is, Host, the fields in the order of their
// names, and the framing of the body (see chunkedBody): Content-Length, or "Transfer-Encoding:
// chunked"; without a body, "Content-Length: 0" for the methods whose requests are expected to
// carry one (POST, PUT, PATCH: a server may answer 411 otherwise, RFC 9110 §8.6), nothing for the
// others. The Host, Content-Length, Transfer-Encoding and Trailer fields of req.Header are not
// written. The field names and values were checked when the header block was read
// (h2conn.Conn.ReadFrame) or set by proxyd; the method and the request-target are checked here.
func appendRequestHead(dst []byte, req *http.Request, hasBody bool) ([]byte, error) {
	target := req.URL.RequestURI()
	if !httpguts.ValidHeaderFieldName(req.Method) {
		return nil, &unforwardableError{"method", req.Method}
	}
	if !validTarget(target) {
		return nil, &unforwardableError{"request-target", target}
	}
	host := req.Host
	if host == "" { // no :authority: the backend's address, as before any routing
		host = req.URL.Host
	}
	dst = append(dst, req.Method...)
	dst = append(dst, ' ')
	dst = append(dst, target...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\n"...)
	dst = appendFields(dst, req.Header, isFramingField)
	switch {
	case hasBody && chunkedBody(req):
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	case hasBody:
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, req.ContentLength, 10)
		dst = append(dst, "\r\n"...)
	case req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch:
		dst = append(dst, "Content-Length: 0\r\n"...)
	}
	return append(dst, "\r\n"...), nil
}

// chunkedBody reports whether the body of req, if it has one, is sent chunked: when its length is
// unknown, or when the client declared trailers (a Trailer field, which the connection engine turns
// into a non-nil req.Trailer), which only the chunked coding carries. The names in req.Trailer are
// not read before the body's end: the engine adds the trailers to that map at the body's end. So the
// request carries no Trailer field; it is optional (RFC 9110 §6.6.2).
func chunkedBody(req *http.Request) bool { return req.ContentLength < 0 || req.Trailer != nil }

// isFramingField reports whether the field named name (canonical) is one appendRequestHead writes
// itself, or not at all.
func isFramingField(name string) bool {
	switch name {
	case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
		return true
	}
	return false
}

// validTarget reports whether target holds only VCHAR and obs-text, the bytes wire takes in a
// request-target.
func validTarget(target string) bool {
	for i := range len(target) {
		if c := target[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return target != ""
}

// appendFields appends a field line for each value of h, in the order of the names, but for the
// names skip reports (skip may be nil).
func appendFields(dst []byte, h http.Header, skip func(string) bool) []byte {
	var room [32]string // the names of most heads, without allocating
	names := room[:0]
	for name := range h {
		if skip == nil || !skip(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		for _, v := range h[name] {
			dst = append(dst, name...)
			dst = append(dst, ": "...)
			dst = append(dst, v...)
			dst = append(dst, "\r\n"...)
		}
	}
	return dst
}

// h1Exchange is one request and its response on a connection. The caller's goroutine reads the
// response; the request body, if any, is written by upload, on a goroutine of its own, at the
// same time. Once the final head has come, the exchange is the response's Body: its Read and
// Close are the body's.
type h1Exchange struct {
	t   *h1Transport
	c   *upstream.Conn
	req *http.Request
	// stopAbort disarms abort, which closes the connection when the request's context ends (the
	// client reset its stream, or the response-header timeout fired); false when it already ran.
	stopAbort func() bool
	// accept is the Sec-WebSocket-Accept a WebSocket handshake's 101 must carry; "" for a request
	// that does not ask to upgrade.
	accept string
	// watch closes a WebSocket's connection once it is idle; set once the backend switched.
	watch *idleWatch
	// request is what writeHead has left to write, laid out in requestArr.
	request    net.Buffers
	requestArr [1][]byte

	// The response; owned by the goroutine reading it.
	parser          wire.ResponseParser
	head            wire.ResponseHead
	responseStarted bool // a byte of a response, interim or final, came
	resp            *http.Response
	framing         wire.Framing
	left            int64               // for BodyLength: body bytes still to read
	chunks          *wire.ChunkedReader // for BodyChunked
	keepAlive       bool                // the response lets the connection carry another request
	bodyErr         error               // io.EOF once the body was read to its end, or why it failed

	// How the exchange ends; guarded by mu.
	mu            sync.Mutex
	responseEnded bool
	uploadEnded   bool  // true from the start without a body
	reusable      bool  // neither side has found the connection unfit for another request
	uploadErr     error // why the upload failed, when that closed the connection (see upload)
}

// roundTrip writes the request head and starts the upload of body, then reads the response head.
func (x *h1Exchange) roundTrip(head []byte, body io.ReadCloser) (*http.Response, error) {
	x.stopAbort = context.AfterFunc(x.req.Context(), x.abort)
	uploads := !x.uploadEnded && x.accept == "" // the body streams while the response is awaited
	if err := x.writeHead(head, !uploads); err != nil {
		closeBody(body)
		x.uploadEnded = true
		x.endResponse(false)
		return nil, err
	}
	if uploads {
		go x.upload(body)
	}
	if err := x.readFinalHead(); err != nil {
		if x.accept != "" {
			x.skipUpload(body)
		}
		x.endResponse(false)
		return nil, x.headError(err)
	}
	rd := &x.c.Reader
	header := responseHeader(rd.Buffered()[:x.head.Len])
	rd.Discard(x.head.Len)
	if x.accept != "" {
		return x.switched(header, body)
	}
	return x.respond(header)
}

// writeHead writes the request head. With whole, nothing goes after it before the response, and
// it is written from within the wait for the response, which then spares a read
// (upstream.Conn.SendAwait).
func (x *h1Exchange) writeHead(head []byte, whole bool) error {
	x.requestArr[0] = head
	x.request = x.requestArr[:]
	if whole {
		if sent, err := x.c.SendAwait(&x.request); sent || err != nil {
			return err
		}
	}
	return x.c.Send(&x.request)
}

// respond returns the response whose head was read, with header as its fields, its body framed as
// the head says.
func (x *h1Exchange) respond(header http.Header) (*http.Response, error) {
	x.framing = x.head.Framing([]byte(x.req.Method))
	x.keepAlive = !x.head.Close && x.framing.Kind != wire.BodyUntilClose
	// Only what forward and relay read: the status, the fields, the body, its length (-1: unknown)
	// and its trailer.
	x.resp = &http.Response{StatusCode: x.head.Status, Header: header, Body: x, ContentLength: -1}
	switch x.framing.Kind {
	case wire.BodyNone:
		x.resp.Body = http.NoBody
		x.resp.ContentLength = 0
		x.bodyErr = io.EOF
		x.endResponse(x.keepAlive)
	case wire.BodyLength:
		x.left = x.framing.Length
		x.resp.ContentLength = x.framing.Length
	case wire.BodyChunked:
		x.chunks = wire.NewChunkedReader(&x.c.Reader)
	}
	return x.resp, nil
}

// switched takes the answer to a WebSocket handshake, whose header is header: a 101 with the
// right Sec-WebSocket-Accept makes the exchange a tunnel, its response a 200 whose body is what
// the backend sends until it closes, and body, from then on, the bytes to send it. Any other answer
// is the response as it is, and body is never sent: the connection is not reused after it.
func (x *h1Exchange) switched(header http.Header, body io.ReadCloser) (*http.Response, error) {
	if x.head.Status != http.StatusSwitchingProtocols {
		x.skipUpload(body)
		return x.respond(header)
	}
	if err := checkWebSocketSwitch(header, x.accept); err != nil {
		x.skipUpload(body)
		x.endResponse(false)
		return nil, err
	}
	x.framing = wire.Framing{Kind: wire.BodyUntilClose}
	x.resp = &http.Response{StatusCode: http.StatusOK, Header: header, Body: x, ContentLength: -1}
	x.watch = watchIdle(x.t.tunnelIdle, x.abort)
	if x.uploadEnded { // the client's HEADERS ended its side
		x.c.TCPConn.CloseWrite()
	} else {
		go x.upload(body)
	}
	return x.resp, nil
}

// skipUpload ends the upload side of a WebSocket handshake the backend did not switch, before its
// response side ends: body, the WebSocket's bytes, is closed unsent, and the connection is not
// reused.
func (x *h1Exchange) skipUpload(body io.ReadCloser) {
	closeBody(body)
	x.mu.Lock()
	x.uploadEnded, x.reusable = true, false
	x.mu.Unlock()
}

// abort closes the connection, from the goroutine of the context that ended: the exchange's
// reads and writes fail at once, and the backend sees the request go.
func (x *h1Exchange) abort() { x.c.TCPConn.Close() }

// readFinalHead reads response heads into x.head, skipping interim 1xx responses, until a final
// one, which stays buffered in the connection's Reader.
func (x *h1Exchange) readFinalHead() error {
	rd := &x.c.Reader
	for {
		x.parser.Reset()
		err := readResponseHead(rd, &x.parser, &x.head)
		x.responseStarted = x.responseStarted || len(rd.Buffered()) > 0
		switch {
		case err != nil:
			return err
		case x.head.Status == http.StatusSwitchingProtocols && x.accept == "":
			return &invalidResponseError{errUnaskedSwitch}
		case x.head.Status == http.StatusSwitchingProtocols:
			return nil
		case x.head.Status >= 200 && x.head.Coded() && x.head.Framing([]byte(x.req.Method)).Kind != wire.BodyNone:
			return &invalidResponseError{errCoded}
		case x.head.Status >= 200:
			return nil
		}
		rd.Discard(x.head.Len)
	}
}

// readResponseHead reads the response head rd holds or will hold into h, with wire.ReadHead, as the
// engine reads heads. A head wire refuses, or one that has not ended within
// upstream.MaxResponseHeadSize, is an *invalidResponseError; a backend that closes within the head gives
// io.ErrUnexpectedEOF.
func readResponseHead(rd *wire.Reader, p *wire.ResponseParser, h *wire.ResponseHead) error {
	err := wire.ReadHead(rd, upstream.MaxResponseHeadSize, func(buf []byte) error { return p.Parse(buf, h) })
	var we *wire.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &we), errors.Is(err, wire.ErrHeadTooLarge):
		return &invalidResponseError{err}
	case errors.Is(err, io.EOF):
		return fmt.Errorf("backend closed the connection within the response head: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// headError is the error of an exchange whose response head did not come after it failed with
// err: the upload's, when the request body could not be read or the backend stopped taking it
// (then the upload closed the connection, which made the head fail), else err.
func (x *h1Exchange) headError(err error) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.uploadErr != nil {
		return x.uploadErr
	}
	return err
}

// responseHeader returns the fields of a response head wire accepted as an http.Header with
// canonical names, without Trailer (the trailer fields come in the Response's Trailer, as
// net/http's client gives them). It allocates the head's text once, all values as slices of it,
// and one slice for all of them.
func responseHeader(head []byte) http.Header {
	text := string(head)
	n := 0
	for it := wire.Fields(head); it.Next(); {
		n++
	}
	h := make(http.Header, n)
	values := make([]string, n)
	for it := wire.Fields(head); it.Next(); {
		name := http.CanonicalHeaderKey(sliceOf(text, head, it.Name()))
		values[0] = sliceOf(text, head, it.Value())
		if vv, ok := h[name]; ok {
			h[name] = append(vv, values[0])
		} else {
			h[name] = values[:1:1]
		}
		values = values[1:]
	}
	delete(h, "Trailer")
	return h
}

// sliceOf returns the part of text, a copy of head, that sub, a slice of head, is a copy of: sub
// starts cap(head)-cap(sub) bytes into head.
func sliceOf(text string, head, sub []byte) string {
	start := cap(head) - cap(sub)
	return text[start : start+len(sub)]
}

// Read reads the response body, decoded from its framing: Content-Length, chunked (the trailer
// fields go into the Response's Trailer at the end) or until the backend closes. A Content-Length
// body returns io.EOF with its last bytes. The end of the body, or its failure, ends the response
// side of the exchange.
func (x *h1Exchange) Read(p []byte) (int, error) {
	if x.bodyErr != nil {
		return 0, x.bodyErr
	}
	var n int
	var err error
	switch x.framing.Kind {
	case wire.BodyLength:
		n, err = x.readConn(p[:min(int64(len(p)), x.left)])
		x.left -= int64(n)
		switch {
		case x.left == 0:
			err = io.EOF
		case err == io.EOF:
			err = fmt.Errorf("backend closed the connection %d bytes before the end of the response body: %w", x.left, io.ErrUnexpectedEOF)
		}
	case wire.BodyChunked:
		n, err = x.chunks.Read(p)
		if err == io.EOF {
			x.takeTrailer()
		}
	default: // wire.BodyUntilClose
		n, err = x.readConn(p)
		if x.watch != nil {
			x.watch.moved()
			if err != nil && x.watch.closedIdle() {
				err = io.EOF // the tunnel's end, not a backend's failure
			}
		}
	}
	if err != nil {
		x.bodyErr = err
		x.endResponse(err == io.EOF && x.keepAlive)
	}
	return n, err
}

// readConn reads what the connection's Reader holds, or else reads the connection's socket once
// (netpoll.Socket: a raw system call).
func (x *h1Exchange) readConn(p []byte) (int, error) {
	rd := &x.c.Reader
	if b := rd.Buffered(); len(b) > 0 {
		n := copy(p, b)
		rd.Discard(n)
		return n, nil
	}
	return x.c.Socket().Read(p)
}

// takeTrailer puts the trailer fields of a chunked body into the Response's Trailer.
func (x *h1Exchange) takeTrailer() {
	for it := x.chunks.Trailer(); it.Next(); {
		if x.resp.Trailer == nil {
			x.resp.Trailer = make(http.Header)
		}
		x.resp.Trailer.Add(string(it.Name()), string(it.Value()))
	}
}

// Close ends the response side; before the end of the body it closes the connection.
func (x *h1Exchange) Close() error {
	if x.bodyErr == nil {
		x.bodyErr = errors.New("response body closed")
		x.endResponse(false)
	}
	return nil
}

// upload writes the request body to the connection as it arrives (see writeBody), then ends the
// upload side of the exchange. A body that cannot be read, or that the backend stops taking,
// closes the connection, which ends the response side too (see headError); a backend that fails
// to take it otherwise leaves the connection to the response side, since it may still answer.
func (x *h1Exchange) upload(body io.ReadCloser) {
	buf := x.t.bufs.Get()
	err := x.writeBody(buf, body)
	x.t.bufs.Put(buf)
	body.Close()
	var rb *requestBodyError
	var bs *backendStalledError
	abort := errors.As(err, &rb) || errors.As(err, &bs)
	if abort {
		x.mu.Lock()
		x.uploadErr = err
		x.mu.Unlock()
	}
	x.end(&x.uploadEnded, err == nil, abort)
}

// chunkSizeRoom is the room writeBody keeps before the data of a chunk for its size line: 16 hex
// digits and CRLF.
const chunkSizeRoom = 16 + 2

// writeBody copies body to the connection, each read written at once (a gRPC client stream's
// messages reach the backend as they come), framed as appendRequestHead announced: as is when the
// length is known (a body longer or shorter than announced is a *requestBodyError, and no byte
// beyond the length is written), else as chunks, each read one chunk, with the last chunk and the
// stream's trailers after the body's end. buf is the scratch space.
func (x *h1Exchange) writeBody(buf []byte, body io.Reader) error {
	if x.watch != nil {
		return x.writeTunnel(buf, body)
	}
	chunked := chunkedBody(x.req)
	room := buf
	if chunked {
		room = buf[chunkSizeRoom : len(buf)-2]
	}
	var sent int64
	for {
		n, rerr := body.Read(room)
		if n > 0 {
			out := room[:n]
			if chunked {
				out = chunkAround(buf, n)
			} else if sent+int64(n) > x.req.ContentLength {
				return &requestBodyError{fmt.Errorf("body longer than its Content-Length %d", x.req.ContentLength)}
			}
			if err := x.write(out); err != nil {
				return err
			}
			sent += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return &requestBodyError{rerr}
		}
	}
	if !chunked {
		if sent != x.req.ContentLength {
			return &requestBodyError{fmt.Errorf("body of %d bytes, shorter than its Content-Length %d", sent, x.req.ContentLength)}
		}
		return x.c.SetWriteDeadline(time.Time{})
	}
	last := append(buf[:0], "0\r\n"...)
	last = appendFields(last, x.req.Trailer, nil)
	if err := x.write(append(last, "\r\n"...)); err != nil {
		return err
	}
	return x.c.SetWriteDeadline(time.Time{})
}

// writeTunnel copies a WebSocket's bytes from the client to the connection as they come, and
// half-closes the connection at their end, as the HTTP/1.x engine's tunnels pass a half-close on.
func (x *h1Exchange) writeTunnel(buf []byte, body io.Reader) error {
	for {
		n, rerr := body.Read(buf)
		if n > 0 {
			if err := x.write(buf[:n]); err != nil {
				return err
			}
			x.watch.moved()
		}
		if rerr == io.EOF {
			return x.c.TCPConn.CloseWrite()
		}
		if rerr != nil {
			return &requestBodyError{rerr}
		}
	}
}

// chunkAround frames the n bytes of chunk data at buf[chunkSizeRoom:] as a chunk, its size line
// written just before them and CRLF after them, and returns the chunk.
func chunkAround(buf []byte, n int) []byte {
	var size [16]byte
	line := append(strconv.AppendInt(size[:0], int64(n), 16), "\r\n"...)
	start := chunkSizeRoom - len(line)
	copy(buf[start:], line)
	end := chunkSizeRoom + n
	copy(buf[end:], "\r\n")
	return buf[start : end+2]
}

// write writes p to the connection's socket (netpoll.Socket: raw system calls), which must take it
// within the idle timeout.
func (x *h1Exchange) write(p []byte) error {
	x.c.SetWriteDeadline(time.Now().Add(x.t.idle))
	if _, err := x.c.Socket().Write(p); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return &backendStalledError{backend: x.t.pool.Addr(), idle: x.t.idle}
		}
		return fmt.Errorf("writing the request body: %w", err)
	}
	return nil
}

// endResponse ends the response side; reusable tells whether it left the connection fit for
// another request: a response read to its end that allows it. One that did not closes the
// connection at once.
func (x *h1Exchange) endResponse(reusable bool) { x.end(&x.responseEnded, reusable, !reusable) }

// end records that one side of the exchange (x.responseEnded or x.uploadEnded, which side points
// to) is over and whether it left the connection fit for another request; abort closes the
// connection at once, which ends the other side too. The side that ends last gives the connection
// back to the pool when both left it fit and the request's context did not end, or discards it.
func (x *h1Exchange) end(side *bool, reusable, abort bool) {
	if abort {
		x.c.TCPConn.Close()
	}
	x.mu.Lock()
	*side = true
	x.reusable = x.reusable && reusable
	last, reuse := x.responseEnded && x.uploadEnded, x.reusable
	x.mu.Unlock()
	if !last {
		return
	}
	if x.watch != nil {
		x.watch.stop()
	}
	if reuse && x.stopAbort() {
		x.t.pool.Put(x.c)
		return
	}
	x.stopAbort()
	x.t.pool.Discard(x.c)
}
