package h2upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/h2conn"
)

// errBodyClosed is the error of a response body read after Close.
var errBodyClosed = errors.New("h2upstream: read on a closed response body")

// stream is one request and its response on a connection. Its fields are guarded by the
// connection's mu, but for those set before the stream is opened.
type stream struct {
	c   *conn
	req *http.Request
	id  uint32

	headDone     bool              // resp or err is set: RoundTrip returns
	resp         *http.Response    // the response, once its head came
	err          error             // why the stream ended early, if it did
	cond         sync.Cond         // on the connection's mu: the head, data, the end, or an error came
	body         h2conn.RecvBuffer // response body bytes not read yet
	recvEnd      bool              // the backend ended its side (END_STREAM)
	sentEnd      bool              // proxyd ended its side
	removed      bool              // the stream is no longer the connection's: ended both ways, or reset
	readerClosed bool              // the response body was closed
	sendWindow   int64             // what proxyd may still send on the stream
	recv         h2conn.Window     // what the backend may still send on the stream
	recvBytes    int64             // body bytes received
	// budget, when set, lends the window what it grows by beyond streamWindow (see growWindow),
	// given back when the body is closed; readSince is the body bytes read since the last growth.
	budget    *WindowBudget
	readSince int64
	// wantLength is the Content-Length the body must have, or -1 when it need not have one
	// (unknown, or a HEAD request's or a 204's or 304's).
	wantLength int64
	stopCtx    func() bool // stops the request context's watch
	// done, when set, is called once the head came or the stream failed (see Start).
	done Done
	// held is set while a started call's response, of known length, waits for its first body
	// bytes before its done is called (see conn.handOver).
	held bool
}

// roundTrip opens a stream for req on the connection (getConn reserved room for it), sends its
// head and, on a goroutine of its own, its body, and waits for the response head.
func (c *conn) roundTrip(req *http.Request) (*http.Response, error) {
	return c.open(req, nil).awaitHead()
}

// open opens a stream for req on the connection, which has room reserved for it, and sends its
// head and, on a goroutine of its own, its body. Without done (RoundTrip), the end of req's context
// resets the stream. With done (Start), done is called once the head came or the stream failed,
// the HEADERS are left for the next write, and the caller ends the stream early with Call.Cancel.
func (c *conn) open(req *http.Request, done Done) *stream {
	body := hasBody(req)
	s := &stream{c: c, req: req, done: done, body: h2conn.NewRecvBuffer(&c.t.bufs), budget: budgetOf(req.Context())}
	s.cond.L = &c.mu
	c.fc.Lock()
	c.mu.Lock()
	c.reserved--
	if c.err != nil || c.goAway { // the stream is never opened
		s.err, s.removed = errUnprocessed, true
		s.publishHead(false)
		c.mu.Unlock()
		c.fc.Unlock()
		if body {
			closeBody(req)
		}
		return s
	}
	s.id = c.nextID
	c.nextID += 2
	s.sendWindow, s.recv = c.peerWindow, h2conn.NewWindow(streamWindow)
	s.sentEnd = !body
	c.streams[s.id] = s
	if done == nil {
		ctx := req.Context()
		s.stopCtx = context.AfterFunc(ctx, func() { c.reset(s, http2.ErrCodeCancel, context.Cause(ctx)) })
	}
	maxFrame := c.maxFrame
	c.mu.Unlock()
	c.encodeRequest(req)
	c.fc.WriteBlock(s.id, !body, maxFrame)
	switch {
	case done != nil:
		c.fc.UnlockLater()
	case c.fc.Unlock() == nil && body:
		go s.writeBody()
	case body:
		closeBody(req)
	}
	return s
}

// awaitHead waits for the response head, or for the stream's failure.
func (s *stream) awaitHead() (*http.Response, error) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for !s.headDone {
		s.cond.Wait()
	}
	if s.resp == nil {
		return nil, s.err
	}
	return s.resp, nil
}

// encodeRequest encodes req's head as the block to write (see RoundTrip for the fields). Under
// the write lock.
func (c *conn) encodeRequest(req *http.Request) {
	c.fc.StartBlock()
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	c.fc.Field(":method", req.Method)
	if req.Method != http.MethodConnect {
		c.fc.Field(":scheme", "http")
		c.fc.Field(":path", req.URL.RequestURI())
	}
	c.fc.Field(":authority", host)
	c.fc.Fields(req.Header, forwardable)
	if len(req.Trailer) > 0 {
		names := make([]string, 0, len(req.Trailer))
		for name := range req.Trailer {
			names = append(names, c.fc.LowerName(name))
		}
		c.fc.Field("trailer", strings.Join(names, ", "))
	}
	if n := req.ContentLength; n > 0 || n == 0 && hasBody(req) {
		c.fc.Field("content-length", strconv.FormatInt(n, 10))
	}
}

// forwardable reports whether a request field goes to the backend: not Host, Content-Length,
// Trailer (written from the request's own) or a connection-specific field (RFC 9113 §8.2.2), and
// TE only as "trailers".
func forwardable(name string, values []string) bool {
	switch name {
	case "Host", "Content-Length", "Trailer":
		return false
	case "Te":
		return len(values) == 1 && strings.EqualFold(values[0], "trailers")
	}
	return !h2conn.IsConnectionField(name)
}

// writeBody sends the request body as DATA frames within the flow-control windows, then its
// trailer or an empty DATA frame that ends the stream. A body that fails resets the stream.
// A body longer or shorter than the request's ContentLength resets the stream.
func (s *stream) writeBody() {
	defer s.req.Body.Close()
	buf := s.c.t.bufs.Get()
	defer s.c.t.bufs.Put(buf)
	want, sent := s.req.ContentLength, int64(0)
	for {
		n, rerr := s.req.Body.Read(buf)
		if sent += int64(n); want >= 0 && sent > want {
			rerr = fmt.Errorf("h2upstream: request body longer than its Content-Length %d", want)
		} else if rerr == io.EOF && want >= 0 && sent < want {
			rerr = fmt.Errorf("h2upstream: request body of %d bytes, shorter than its Content-Length %d", sent, want)
		}
		if rerr != nil && rerr != io.EOF {
			s.c.reset(s, http2.ErrCodeCancel, rerr)
			return
		}
		if s.writeData(buf[:n]) != nil {
			return
		}
		if rerr == io.EOF {
			s.endBody()
			return
		}
	}
}

// writeData sends p on the stream as DATA frames, each when the windows allow it; an error means
// the stream or the connection ended.
func (s *stream) writeData(p []byte) error {
	c := s.c
	for len(p) > 0 {
		c.mu.Lock()
		for s.err == nil && !s.removed && (s.sendWindow <= 0 || c.sendWindow <= 0) {
			c.sendCond.Wait()
		}
		c.mu.Unlock()
		// The write lock first, then the state again: no DATA frame follows the stream's reset.
		c.fc.Lock()
		c.mu.Lock()
		if s.err != nil || s.removed {
			err := s.endedErr()
			c.mu.Unlock()
			c.fc.Unlock()
			return err
		}
		k := h2conn.Reserve(len(p), &s.sendWindow, &c.sendWindow, c.maxFrame)
		c.mu.Unlock()
		if k == 0 {
			c.fc.Unlock()
			continue
		}
		c.fc.Framer.WriteData(s.id, false, p[:k])
		if err := c.fc.Unlock(); err != nil {
			return err
		}
		p = p[k:]
	}
	return nil
}

// endBody ends proxyd's side of the stream after the body: with the request's trailer, if it has
// one, else with an empty DATA frame.
func (s *stream) endBody() {
	c := s.c
	c.fc.Lock()
	c.mu.Lock()
	if s.err != nil || s.removed {
		c.mu.Unlock()
		c.fc.Unlock()
		return
	}
	s.sentEnd = true
	if s.recvEnd {
		c.remove(s)
	}
	maxFrame := c.maxFrame
	c.mu.Unlock()
	if len(s.req.Trailer) > 0 {
		c.fc.StartBlock()
		c.fc.Fields(s.req.Trailer, forwardable)
		c.fc.WriteBlock(s.id, true, maxFrame)
	} else {
		c.fc.Framer.WriteData(s.id, true, nil)
	}
	c.fc.Unlock()
}

// endedErr returns why the stream ended, for its writer. Under mu.
func (s *stream) endedErr() error {
	if s.err != nil {
		return s.err
	}
	return errBodyClosed
}

// end ends the stream early with err (the first error stays): RoundTrip and the body's reader
// get it, the body's writer stops, and the connection forgets the stream. Under mu.
func (s *stream) end(err error) {
	if s.err == nil {
		s.err = err
	}
	s.publishHead(false)
	if s.held {
		s.held = false
		s.done(Call{s}, false)
	}
	s.cond.Broadcast()
	s.c.remove(s)
}

// bodyCame hands a held call (see conn.handOver) over with the batch's end, now that its body has
// begun, or ended. Under mu; the reader's.
func (s *stream) bodyCame() {
	if s.held {
		s.held = false
		s.c.arrived = append(s.c.arrived, s)
	}
}

// publishHead lets RoundTrip return, once, and calls a started call's done: at once, or, for the
// head the reader has just read (byReader), once the reader's batch of frames, which may bring the
// rest of the response, has been handled (see conn.handOver). Under mu.
func (s *stream) publishHead(byReader bool) {
	if s.headDone {
		return
	}
	s.headDone = true
	s.cond.Broadcast()
	switch {
	case s.done == nil:
	case byReader:
		s.c.arrived = append(s.c.arrived, s)
	default:
		s.done(Call{s}, false)
	}
}

// markRecvEnd records the end of the backend's side, checking the body's length against its
// Content-Length (RFC 9113 §8.1.1); it returns the error when they differ. Under mu.
func (s *stream) markRecvEnd() error {
	if s.wantLength >= 0 && s.recvBytes != s.wantLength {
		return &MalformedResponseError{Reason: "body of " + strconv.FormatInt(s.recvBytes, 10) + " bytes, Content-Length " + strconv.FormatInt(s.wantLength, 10)}
	}
	s.recvEnd = true
	s.cond.Broadcast()
	if s.sentEnd {
		s.c.remove(s)
	}
	return nil
}

// handleHeaders takes a response head, an interim one (skipped) or the trailer of stream f.
func (c *conn) handleHeaders(f *http2.MetaHeadersFrame) error {
	c.mu.Lock()
	s := c.streams[f.StreamID]
	opened := c.opened(f.StreamID)
	var started bool
	if s != nil {
		started = s.resp != nil
	}
	c.mu.Unlock()
	if s == nil {
		if !opened {
			return &MalformedResponseError{Reason: "HEADERS on a stream never opened"}
		}
		return nil // the stream ended; its block was decoded all the same, keeping HPACK in step
	}
	if f.Truncated {
		c.reset(s, http2.ErrCodeCancel, &MalformedResponseError{Reason: "header list over " + strconv.FormatUint(uint64(c.t.maxHeaderListSize()), 10) + " bytes"})
		return nil
	}
	if started {
		return c.handleTrailer(s, f)
	}
	status, err := strconv.Atoi(f.PseudoValue("status"))
	switch {
	case err != nil || status < 100 || status > 999 || len(f.PseudoFields()) != 1:
		c.reset(s, http2.ErrCodeProtocol, &MalformedResponseError{Reason: "invalid :status"})
		return nil
	case status == http.StatusSwitchingProtocols:
		c.reset(s, http2.ErrCodeProtocol, &MalformedResponseError{Reason: "101 in HTTP/2"})
		return nil
	case status < 200:
		if f.StreamEnded() {
			c.reset(s, http2.ErrCodeProtocol, &MalformedResponseError{Reason: "interim response ends the stream"})
		}
		return nil
	}
	if name := h2conn.ConnectionSpecific(f.RegularFields()); name != "" {
		c.reset(s, http2.ErrCodeProtocol, &MalformedResponseError{Reason: "connection-specific field " + name})
		return nil
	}
	h := c.fc.Header(f.RegularFields())
	length, ok := h2conn.ContentLength(h["Content-Length"])
	if !ok {
		c.reset(s, http2.ErrCodeProtocol, &MalformedResponseError{Reason: "invalid Content-Length"})
		return nil
	}
	resp := &http.Response{
		StatusCode:    status,
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        h,
		ContentLength: length,
		Body:          s,
		Request:       s.req,
	}
	c.mu.Lock()
	if s.removed {
		c.mu.Unlock()
		return nil
	}
	s.wantLength = length
	if s.req.Method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified {
		s.wantLength = -1
	}
	s.resp = resp
	if f.StreamEnded() {
		// No body: the head is the whole response (gRPC's trailers-only answers are such).
		if err = s.markRecvEnd(); err == nil {
			resp.Body = http.NoBody
		}
	}
	s.publishHead(true)
	c.mu.Unlock()
	if err != nil {
		c.reset(s, http2.ErrCodeProtocol, err)
	}
	return nil
}

// handleTrailer takes the trailer of stream s, which must end it and carry no pseudo-header field
// (RFC 9113 §8.1).
func (c *conn) handleTrailer(s *stream, f *http2.MetaHeadersFrame) error {
	if !f.StreamEnded() || len(f.PseudoFields()) > 0 || h2conn.ConnectionSpecific(f.RegularFields()) != "" {
		c.reset(s, http2.ErrCodeProtocol, &MalformedResponseError{Reason: "trailer not ending the stream, or with pseudo-header or connection-specific fields"})
		return nil
	}
	h := c.fc.Header(f.RegularFields())
	c.mu.Lock()
	var err error
	if !s.removed {
		s.resp.Trailer = h
		s.bodyCame()
		err = s.markRecvEnd()
	}
	c.mu.Unlock()
	if err != nil {
		c.reset(s, http2.ErrCodeProtocol, err)
	}
	return nil
}

// handleData takes a DATA frame: its bytes go to the stream's body, within the flow-control
// windows proxyd gave (RFC 9113 §6.9); bytes no stream will read are given back at once.
func (c *conn) handleData(f *http2.DataFrame) error {
	n, data := int(f.Length), f.Data()
	c.mu.Lock()
	if !c.recv.Take(n) {
		c.mu.Unlock()
		return &MalformedResponseError{Reason: "DATA beyond the connection's window"}
	}
	s := c.streams[f.StreamID]
	if s == nil || s.readerClosed || s.resp == nil || s.recvEnd {
		opened := c.opened(f.StreamID)
		inc := c.recv.Consumed(n)
		c.mu.Unlock()
		c.fc.SendWindowUpdates(0, 0, inc)
		switch {
		case !opened:
			return &MalformedResponseError{Reason: "DATA on a stream never opened"}
		case s != nil && s.resp == nil:
			c.reset(s, http2.ErrCodeProtocol, &MalformedResponseError{Reason: "DATA before the response head"})
		case s != nil && s.recvEnd:
			c.reset(s, http2.ErrCodeStreamClosed, &MalformedResponseError{Reason: "DATA after the end of the stream"})
		}
		return nil
	}
	s.recvBytes += int64(len(data))
	var err error
	code := http2.ErrCodeProtocol
	switch {
	case !s.recv.Take(n): // RFC 9113 §6.9.1
		err, code = &MalformedResponseError{Reason: "DATA beyond the stream's window"}, http2.ErrCodeFlowControl
	case s.wantLength >= 0 && s.recvBytes > s.wantLength:
		err = &MalformedResponseError{Reason: "body longer than its Content-Length"}
	}
	if err != nil {
		inc := c.recv.Consumed(n)
		c.mu.Unlock()
		c.fc.SendWindowUpdates(0, 0, inc)
		c.reset(s, code, err)
		return nil
	}
	inc, connInc := h2conn.TakeData(&s.body, &s.recv, &c.recv, n, data)
	s.cond.Signal()
	s.bodyCame()
	if f.StreamEnded() {
		err = s.markRecvEnd()
	}
	c.mu.Unlock()
	c.fc.SendWindowUpdates(s.id, inc, connInc)
	if err != nil {
		c.reset(s, http2.ErrCodeProtocol, err)
	}
	return nil
}

// Read reads the response body, giving the backend back its window as the body is read.
func (s *stream) Read(p []byte) (int, error) {
	c := s.c
	c.mu.Lock()
	if inc := s.growWindow(); inc > 0 {
		c.mu.Unlock()
		c.fc.SendWindowUpdates(s.id, inc, 0)
		c.mu.Lock()
	}
	for s.body.Len() == 0 && !s.recvEnd && s.err == nil && !s.readerClosed {
		s.cond.Wait()
	}
	if s.readerClosed {
		c.mu.Unlock()
		return 0, errBodyClosed
	}
	if s.body.Len() == 0 {
		err := s.err
		c.mu.Unlock()
		if err == nil {
			err = io.EOF
		}
		return 0, err
	}
	n, inc, connInc := h2conn.ReadData(&s.body, &s.recv, &c.recv, p, !s.recvEnd && !s.removed)
	s.readSince += int64(n)
	c.mu.Unlock()
	c.fc.SendWindowUpdates(s.id, inc, connInc)
	return n, nil
}

// growWindow doubles the stream's window, up to maxStreamWindow and as far as its budget lends,
// when its reader finds nothing to read after reading a whole window since the window last grew:
// the reader keeps up with the backend, which the window's round trip may be holding back. It
// returns the increment of the WINDOW_UPDATE to send. Under mu.
func (s *stream) growWindow() uint32 {
	size := s.recv.Size()
	if s.budget == nil || s.body.Len() > 0 || s.recvEnd || s.removed || s.err != nil || s.readerClosed ||
		s.readSince < size || size >= maxStreamWindow {
		return 0
	}
	s.readSince = 0
	return s.recv.Grow(s.budget.take(min(size, maxStreamWindow-size)))
}

// Close closes the response body: a stream still open is reset (CANCEL), and the bytes left
// unread are given back to the connection's window.
func (s *stream) Close() error {
	c := s.c
	c.mu.Lock()
	if s.readerClosed {
		c.mu.Unlock()
		return nil
	}
	s.readerClosed = true
	if lent := s.recv.Size() - streamWindow; lent > 0 {
		s.budget.give(lent)
	}
	connInc := c.recv.Consumed(s.body.Discard())
	s.cond.Broadcast()
	open := !s.removed
	c.mu.Unlock()
	c.fc.SendWindowUpdates(0, 0, connInc)
	if open {
		c.reset(s, http2.ErrCodeCancel, errBodyClosed)
	}
	return nil
}
