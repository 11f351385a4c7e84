// Package h2upstream is proxyd's HTTP/2 client for one backend that speaks HTTP/2 with prior
// knowledge (h2c, RFC 9113 §3.3), built on golang.org/x/net/http2's Framer and hpack.
//
// It multiplexes the streams of many requests over few connections, as x/net/http2's Transport
// does, without its per-request goroutine and channels: a request writes its HEADERS itself under
// the connection's write lock, one reading goroutine per connection hands each stream its response
// head, body and trailers, and writes of concurrent streams share one write (see h2conn.Conn).
// A request with a body has one more goroutine, which copies the body as DATA frames within the
// backend's flow-control windows. A request started without waiting (Reservation.Start) learns of
// its response from the reader, which hands it over once the batch of frames it read is handled,
// telling whether the whole response came (see Done).
package h2upstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/bufpool"
	"proxyd.dev/proxyd/internal/h2conn"
)

// DefaultMaxHeaderListSize is the bound on a response's header list (RFC 9113 §6.5.2) when
// Transport.MaxHeaderListSize is zero.
const DefaultMaxHeaderListSize = 64 << 10

// Transport is an http.RoundTripper to one backend over h2c. Requests follow the conventions of
// RoundTrip. The zero value with Dial set is ready to use; its methods are safe for concurrent use.
type Transport struct {
	// Dial opens a new connection to the backend.
	Dial func(ctx context.Context) (net.Conn, error)
	// DialTimeout bounds a new connection's dial and the wait for the backend's first SETTINGS
	// frame, which a connection waits for before it takes a stream; 0: no bound but Dial's own.
	DialTimeout time.Duration
	// MaxHeaderListSize bounds a response's header list; 0 means DefaultMaxHeaderListSize.
	MaxHeaderListSize uint32
	// WriteTimeout bounds a write to a backend connection that makes no progress; 0: none. A
	// connection whose write runs out of it fails, with all its streams.
	WriteTimeout time.Duration
	// IdleTimeout is how long a connection without streams is kept: Sweep closes it after that.
	IdleTimeout time.Duration
	// Busy, when set, reports whether other requests are about to be sent: a request that would
	// write to the socket then yields the processor once, so that their HEADERS share its write
	// (see h2conn.Conn.Busy).
	Busy func() bool

	// bufs holds the buffers request bodies are copied through.
	bufs bufpool.Pool

	mu      sync.Mutex
	conns   []*conn   // open connections, in the order they were dialled
	dialing *dialCall // the dial under way, shared by the requests that wait for a connection
	// waiters are the calls of AwaitRoom that wait for the next dial, in the order they came.
	waiters []func(Reservation, error)
}

// dialCall is one dial of a new connection, which every request finding no room waits for.
type dialCall struct {
	done chan struct{} // closed once the connection is the transport's, or err is set
	err  error
}

// Errors of streams that never reached the backend's application.
var (
	// errUnprocessed is a stream the backend refused before processing it: above the last stream
	// of its GOAWAY, or reset with REFUSED_STREAM (RFC 9113 §8.7). RoundTrip retries it once on
	// another connection when it has no body.
	errUnprocessed = errors.New("h2upstream: the backend refused the stream unprocessed")
	// errNoRoom is what streams that waited for a connection (Transport.AwaitRoom) fail with
	// when the connection dialled for them had room for none of them.
	errNoRoom = errors.New("h2upstream: the new connection has no room for a stream")
	// errConnClosed is a connection closed by the transport (idle, or CloseIdleConnections).
	errConnClosed = errors.New("h2upstream: connection closed")
)

// MalformedResponseError is a response the backend sent that HTTP/2 does not allow: a bad
// :status, an invalid field, a header list over the limit, a body longer or shorter than its
// Content-Length, a frame out of place, or a flow-control window overrun.
type MalformedResponseError struct {
	Reason string
	// Err, when set, is the HTTP/2 error the violation is (an http2.ConnectionError); Unwrap
	// returns it.
	Err error
}

func (e *MalformedResponseError) Error() string {
	if e.Err != nil {
		return "h2upstream: malformed response: " + e.Reason + ": " + e.Err.Error()
	}
	return "h2upstream: malformed response: " + e.Reason
}

// Unwrap returns the HTTP/2 error the violation is, if any.
func (e *MalformedResponseError) Unwrap() error { return e.Err }

// RoundTrip sends req on a stream of one of the backend's connections and returns the response
// once its head has come; 1xx heads are skipped.
//
// The request: Method; URL.RequestURI() is the :path, Host (else URL.Host) the :authority, the
// scheme "http"; a CONNECT has only :method and :authority. Header goes as given, without Host,
// Content-Length and the connection-specific fields (RFC 9113 §8.2.2), TE only as "trailers".
// Body nil or http.NoBody is no body; ContentLength -1 is unknown; Trailer, complete once Body has
// returned io.EOF, is sent after it. Body is always closed.
//
// The response: StatusCode (Status, which would cost a string per response, is left empty),
// Header with canonical keys, ContentLength (-1: unknown), Body (http.NoBody when the head ended
// the stream), and Trailer, set before Body returns io.EOF. Closing Body before its end resets the
// stream.
//
// Ending req's context resets the stream (RST_STREAM CANCEL): before the head, RoundTrip returns
// an error; after it, Body's Read fails.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) { return t.send(req, nil) }

// send sends req on a connection other than refused, the one that has just refused it unprocessed
// (nil before any attempt), which counts as one of its maxAttempts; a request without a body that
// is refused unprocessed again goes once more on another connection.
func (t *Transport) send(req *http.Request, refused *conn) (*http.Response, error) {
	attempt := 1
	if refused != nil {
		attempt = 2
	}
	for ; ; attempt++ {
		c, err := t.getConn(req.Context(), refused)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := c.roundTrip(req)
		if err == nil || attempt == maxAttempts || !errors.Is(err, errUnprocessed) || hasBody(req) {
			return resp, err
		}
		refused = c
	}
}

// maxAttempts is how many times RoundTrip sends a request the backend refuses unprocessed.
const maxAttempts = 3

// getConn returns a connection other than avoid with room for one more stream, reserved for the
// caller; it dials one when none has room, and waits for a dial under way rather than start
// another.
func (t *Transport) getConn(ctx context.Context, avoid *conn) (*conn, error) {
	for {
		t.mu.Lock()
		if c := t.reserveConn(avoid, false); c != nil {
			t.mu.Unlock()
			return c, nil
		}
		d := t.startDialLocked()
		t.mu.Unlock()
		select {
		case <-d.done:
			if d.err != nil {
				return nil, d.err
			}
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}

// reserveConn reserves room for a stream on a connection other than avoid, and returns it; nil
// when none has room. With unhurried, a connection whose writes back up (the backend is slow to
// read them) is passed over too. Under mu.
func (t *Transport) reserveConn(avoid *conn, unhurried bool) *conn {
	for _, c := range t.conns {
		if c != avoid && !(unhurried && c.fc.Backlogged()) && c.reserve() {
			return c
		}
	}
	return nil
}

// Reservation is room for one stream on an open connection (see Reserve).
type Reservation struct{ c *conn }

// Reserve reserves room for one stream on a connection already open, without dialling, whose
// writes do not back up: Start then does not wait to write. ok is false when there is none. The
// reservation must be used, once, by Start.
func (t *Transport) Reserve() (r Reservation, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r.c = t.reserveConn(nil, true)
	return r, r.c != nil
}

// AwaitRoom is Reserve for when no open connection has room for a stream: ready is called once,
// with room on the next connection dialled (which this call starts unless one is under way), or
// with the dial's error. It is called on a dialling goroutine, and must not wait: it Starts the
// reservation, and the transport flushes every connection it reserved room on once each ready has
// returned, so that the HEADERS of the streams that waited leave together. So a burst of streams
// to a backend with no connection open costs one goroutine, the dial's, rather than one for each
// stream. AwaitRoom reports false, calling nothing, when some connection has room, one Reserve
// passed over because its writes back up: the caller then sends as RoundTrip does.
func (t *Transport) AwaitRoom(ready func(Reservation, error)) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.conns {
		if c.hasRoom() {
			return false
		}
	}
	t.waiters = append(t.waiters, ready)
	t.startDialLocked()
	return true
}

// startDialLocked returns the dial under way, starting one when there is none. Under mu.
func (t *Transport) startDialLocked() *dialCall {
	if t.dialing == nil {
		t.dialing = &dialCall{done: make(chan struct{})}
		// Not bound to a request's context: the connection serves every waiting request, and
		// the dial has its own timeout.
		go t.dial(context.Background(), t.dialing)
	}
	return t.dialing
}

// Call is a request Start sent, whose response head, or failure, comes later.
type Call struct{ s *stream }

// Start sends req, which must have no body, as RoundTrip does, on the reserved connection, and
// returns at once: done is called with the call, once, when the response head came (for a body of
// known length, with its first bytes: a relay that sends the head with them, as proxyd's does,
// loses no time) or the stream failed (from another goroutine, or from Start itself when the
// connection has just failed); the call's Result then returns the response. The request's HEADERS
// wait on the connection until the caller's Call.Flush, or any other write to it, so that the
// HEADERS of requests started together leave in one write. Unlike RoundTrip, a started call does
// not watch req's context, whose watch costs allocations and a lock per stream: its caller ends it
// early with Cancel. A retry that Result makes (see there) watches the context as RoundTrip does.
func (r Reservation) Start(req *http.Request, done Done) Call {
	return Call{r.c.open(req, done)}
}

// Done is what a started call calls once its response head came or its stream failed. complete
// reports that the whole response came (head, body and trailers, all read from the backend and
// held by the call), so that relaying it waits for nothing the backend sends: done is then called
// on the connection's reader, which serves every stream of the connection and so must not wait,
// and not under any lock of the transport. Such a done may relay the response at once, if it can
// without waiting for the client, and leave its writes pending on the client's connection, which
// it returns: the reader flushes it, with h2conn.Conn.FlushNoWait, once the batch of frames it
// read with the head has been handled. Any other done starts the relay elsewhere and returns nil.
type Done func(call Call, complete bool) (flush *h2conn.Conn)

// Cancel ends the call early with err, if it has not ended: the backend's stream is reset
// (RST_STREAM CANCEL), and Result, or a read of the response body, fails with err. Cancel on the
// zero Call does nothing.
func (call Call) Cancel(err error) {
	if call.s != nil {
		call.s.c.reset(call.s, http2.ErrCodeCancel, err)
	}
}

// Flush writes what is waiting on the call's connection, its HEADERS among it.
func (call Call) Flush() { call.s.c.fc.Flush() }

// HeadCame reports whether the call's response head has come, although done may not have been
// called yet (see Start); false for the zero Call.
func (call Call) HeadCame() bool {
	if call.s == nil {
		return false
	}
	c := call.s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return call.s.resp != nil
}

// Buffered returns how many bytes of the response body the call holds, not read yet.
func (call Call) Buffered() int {
	c := call.s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	return call.s.body.Len()
}

// Result returns the response head, or why there is none, once done was called. A stream the
// backend refused unprocessed is sent again on another connection, as RoundTrip sends it, and
// Result waits for that head.
func (call Call) Result() (*http.Response, error) {
	c := call.s.c
	resp, err := call.s.awaitHead()
	if errors.Is(err, errUnprocessed) {
		return c.t.send(call.s.req, c)
	}
	return resp, err
}

// dial opens a connection for d and, once the backend's first SETTINGS frame has come (so that no
// stream is opened beyond its SETTINGS_MAX_CONCURRENT_STREAMS), adds it to the transport's.
func (t *Transport) dial(ctx context.Context, d *dialCall) {
	if t.DialTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.DialTimeout)
		defer cancel()
	}
	var c *conn
	nc, err := t.Dial(ctx)
	if err == nil {
		if c, err = newConn(t, nc); err == nil {
			go c.readLoop()
			err = c.awaitSettings(ctx)
		}
	}
	t.mu.Lock()
	if err == nil {
		t.conns = append(t.conns, c)
	}
	d.err = err
	t.dialing = nil
	// The waiters take their room before anyone else can: what they do not take, no stream can.
	rooms, waiters, err := t.takeWaitersLocked(err)
	t.mu.Unlock()
	close(d.done)
	var reserved []*conn // the connections to flush, each once
	for i, ready := range waiters {
		if i >= len(rooms) {
			ready(Reservation{}, err)
			continue
		}
		ready(rooms[i], nil)
		if !slices.Contains(reserved, rooms[i].c) {
			reserved = append(reserved, rooms[i].c)
		}
	}
	for _, c := range reserved {
		c.fc.Flush()
	}
}

// takeWaitersLocked takes the waiters of AwaitRoom that a dial ending with dialErr answers, and
// reserves room for them on the open connections: rooms[i] is waiters[i]'s, and a waiter beyond
// rooms is answered with err. When the dial failed, that is every waiter, and err is dialErr. When
// it opened a connection, the waiters it has no room for keep waiting, for a dial started for
// them; all of them fail with errNoRoom if none found room, so that a backend that takes no
// stream is not dialled without end. Under mu.
func (t *Transport) takeWaitersLocked(dialErr error) (rooms []Reservation, waiters []func(Reservation, error), err error) {
	waiters, t.waiters = t.waiters, nil
	if dialErr != nil {
		return nil, waiters, dialErr
	}
	for i := range waiters {
		c := t.reserveConn(nil, false)
		if c == nil && i == 0 {
			return nil, waiters, errNoRoom
		}
		if c == nil {
			t.waiters = waiters[i:]
			t.startDialLocked()
			return rooms, waiters[:i], nil
		}
		rooms = append(rooms, Reservation{c})
	}
	return rooms, waiters, nil
}

// removeConn forgets c, once it has failed or closed.
func (t *Transport) removeConn(c *conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, o := range t.conns {
		if o == c {
			t.conns = append(t.conns[:i], t.conns[i+1:]...)
			return
		}
	}
}

// CloseIdleConnections closes the connections that have no stream open.
func (t *Transport) CloseIdleConnections() { t.closeIdle(func(time.Time) bool { return true }) }

// Sweep closes the connections that have had no stream for longer than IdleTimeout at now.
func (t *Transport) Sweep(now time.Time) {
	t.closeIdle(func(since time.Time) bool { return now.Sub(since) > t.IdleTimeout })
}

// closeIdle closes the connections without streams whose idle time, from the given start, expired.
func (t *Transport) closeIdle(expired func(since time.Time) bool) {
	t.mu.Lock()
	conns := append([]*conn(nil), t.conns...)
	t.mu.Unlock()
	for _, c := range conns {
		c.closeIfIdle(expired)
	}
}

// maxHeaderListSize returns the bound on a response's header list.
func (t *Transport) maxHeaderListSize() uint32 {
	if t.MaxHeaderListSize == 0 {
		return DefaultMaxHeaderListSize
	}
	return t.MaxHeaderListSize
}

// hasBody reports whether req has a body to send.
func hasBody(req *http.Request) bool { return req.Body != nil && req.Body != http.NoBody }

// closeBody closes req's body, if any.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// streamResetError is a stream the backend reset.
type streamResetError struct{ code http2.ErrCode }

func (e *streamResetError) Error() string {
	return fmt.Sprintf("h2upstream: stream reset by the backend: %v", e.code)
}

// ResetCode returns the error code of the RST_STREAM with which the backend ended the stream that
// failed with err; ok is false when the backend did not reset it.
func ResetCode(err error) (code http2.ErrCode, ok bool) {
	var r *streamResetError
	if errors.As(err, &r) {
		return r.code, true
	}
	return 0, false
}
