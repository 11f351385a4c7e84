package h2

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/h2conn"
	"proxyd.dev/proxyd/internal/h2upstream"
	"proxyd.dev/proxyd/internal/netpoll"
)

// Flow-control windows proxyd gives a client for its request bodies (RFC 9113 §6.9): what one
// stream, and all streams of a connection together, may have waiting to be forwarded.
const (
	clientStreamWindow = 1 << 20
	clientConnWindow   = 1 << 20
)

// upstreamWindowBudget is the credit a connection's streams share to grow the windows they give h2c
// backends for their answers (see h2upstream.WindowBudget): beyond each stream's first window,
// what answers the client leaves unread can make proxyd hold.
const upstreamWindowBudget = 4 << 20

// maxSettingsPerFrame bounds the settings one SETTINGS frame may carry: a longer one is a
// connection error PROTOCOL_ERROR, against floods (no client needs more than a few).
const maxSettingsPerFrame = 100

// maxHandlers bounds the handlers of one connection running at once, streams the client reset
// included: a client that opens and resets streams faster than their handlers end (Rapid Reset,
// CVE-2023-44487) gets a connection error ENHANCE_YOUR_CALM.
const maxHandlers = 4 * MaxConcurrentStreams

// goAwayLinger bounds how long a connection ended by proxyd is read after its GOAWAY, so that the
// client reads the GOAWAY before the connection closes rather than a reset.
const goAwayLinger = time.Second

// clientConn is one client connection served as HTTP/2. Its reader (serve) reads every frame and
// handles it at once; every stream's handler runs on a goroutine of its own and writes its
// response through fc, whose writes of concurrent streams share one flush.
type clientConn struct {
	s          *Server
	nc         net.Conn
	raw        syscall.RawConn // nc's, on which a parked connection waits; nil parks none
	fc         *h2conn.Conn
	remoteAddr string
	// done is called once the connection has ended (see Server.ServeConn); nil calls nothing.
	done func()
	// backends are the connection's own backends (with ProxyProtocol), closed with it; nil
	// without.
	backends *connBackends
	// sawSettings is set once the client's first frame, its SETTINGS, was read; the reader's own.
	sawSettings bool
	// ctx is the parent of every stream's context, with the budget its streams grow the windows
	// of h2c backends' answers with, and the connection's own backends when --proxy-protocol is
	// on. It is never cancelled: the end of the connection ends each stream's context (see end),
	// and streams need not register with a parent.
	ctx context.Context
	// handlers counts the handler goroutines, for the connection to wait for them at its end.
	handlers sync.WaitGroup
	idle     *time.Timer // closes the connection once it has had no stream for the idle timeout
	// heads holds the response-header timers of the streams waiting for a response head.
	heads headTimers

	mu       sync.Mutex
	sendCond sync.Cond // on mu: a send window grew, a stream ended, or the connection ended
	streams  map[uint32]*clientStream
	running  int    // handlers running, streams ended or not
	maxID    uint32 // the highest stream id the client opened
	// peerWindow is the client's SETTINGS_INITIAL_WINDOW_SIZE, every new stream's send window.
	peerWindow int64
	sendWindow int64         // the connection's send window
	maxFrame   uint32        // the client's SETTINGS_MAX_FRAME_SIZE
	recv       h2conn.Window // what the client may still send on the connection
	acked      bool          // the client acknowledged proxyd's SETTINGS
	goAway     bool          // proxyd sent GOAWAY: no new stream beyond lastID
	lastID     uint32
	closed     bool      // the connection ended: every stream fails
	idleSince  time.Time // when the last stream ended
	// Parking (see Config.ParkAfter): waiting is set while the reader waits for bytes with none
	// buffered, parkAsked once CheckStreams ended that wait to park the connection, and parked
	// is the connection's key in the server's idle set while it is there (0: it is not). ending is
	// set once close or closeSoftly has set what ends the reader (the socket's close, a read
	// deadline): the connection does not park again, and that deadline stays.
	waiting, parkAsked, ending bool
	parked                     netpoll.Key

	// started are the upstream calls of the streams started on the reader since its last flush
	// (see Server.startInline); the reader's own.
	started []h2upstream.Call
}

// newClientConn returns the connection conn, whose RawConn is raw (or nil) and whose first bytes
// are in buffered.
func newClientConn(s *Server, conn net.Conn, raw syscall.RawConn, buffered []byte) *clientConn {
	nc := netpoll.WithSocket(conn)
	c := &clientConn{
		s:          s,
		nc:         nc,
		raw:        raw,
		remoteAddr: conn.RemoteAddr().String(),
		streams:    make(map[uint32]*clientStream),
		peerWindow: h2conn.InitialWindow,
		sendWindow: h2conn.InitialWindow,
		maxFrame:   h2conn.FrameSize,
		recv:       h2conn.NewWindow(clientConnWindow),
		idleSince:  time.Now(),
		heads:      headTimers{limit: s.cfg.ResponseHeaderTimeout},
	}
	c.sendCond.L = &c.mu
	// A connection whose write failed is closed, which ends its reader and so every stream.
	c.fc = h2conn.New(nc, raw, buffered, &s.bufs, uint32(s.cfg.MaxHeaderSize), s.cfg.IdleTimeout, func(error) { c.close() })
	c.fc.Busy = func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.running > 1
	}
	c.ctx = h2upstream.WithWindowBudget(context.Background(), h2upstream.NewWindowBudget(upstreamWindowBudget))
	return c
}

// serve serves the connection from its client preface on (see run).
func (c *clientConn) serve() {
	if !c.start() {
		c.finish()
		return
	}
	c.run()
}

// start reads the client preface, sends proxyd's SETTINGS and starts the idle timer; false when
// the connection is to end.
func (c *clientConn) start() bool {
	if !c.readPreface() {
		return false
	}
	c.fc.Lock()
	c.fc.Framer.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: MaxConcurrentStreams},
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: h2conn.FrameSize},
		http2.Setting{ID: http2.SettingHeaderTableSize, Val: h2conn.HeaderTableSize},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: uint32(c.s.cfg.MaxHeaderSize)},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: clientStreamWindow},
		http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1}, // WebSocket over HTTP/2, RFC 8441
	)
	c.fc.Framer.WriteWindowUpdate(0, clientConnWindow-h2conn.InitialWindow)
	if c.fc.Unlock() != nil {
		return false
	}
	c.mu.Lock() // checkIdle reads c.idle under mu
	c.idle = time.AfterFunc(c.s.cfg.IdleTimeout, c.checkIdle)
	c.mu.Unlock()
	return true
}

// run reads and handles frames until the client closes the connection, it fails, its idle
// timeout passes or a shutdown ends it, and then finishes it; or until the reader parks it
// (await), when run returns at once and the server's idle set resumes the connection (resume).
// A panic while reading or handling a frame ends the connection, and is logged.
func (c *clientConn) run() {
	parked := false
	defer func() {
		if p := recover(); p != nil {
			c.s.log.Error("HTTP/2 connection reader panicked", "client", c.remoteAddr, "panic", p, "stack", string(debug.Stack()))
		}
		if !parked {
			c.finish()
		}
	}()
	parked = c.read()
}

// read is the reader: it reads frames and handles each at once, until the connection ends
// (false) or is parked (true).
func (c *clientConn) read() (parked bool) {
	for {
		if c.fc.FrameReaderGrown() && c.streamCount() == 0 {
			c.fc.ReleaseReader() // an idle connection keeps no large frame's buffer
		}
		if c.await() {
			return true
		}
		f, err := c.fc.ReadFrame()
		if err == nil && !c.sawSettings {
			// The client preface ends with a SETTINGS frame (RFC 9113 §3.4).
			if _, ok := f.(*http2.SettingsFrame); !ok {
				err = http2.ConnectionError(http2.ErrCodeProtocol)
			}
			c.sawSettings = true
		}
		if err == nil {
			err = c.handle(f)
		}
		if len(c.started) > 0 && (err != nil || !c.fc.NextFrameBuffered()) {
			c.flushStarted()
		}
		if err == nil {
			continue
		}
		var se http2.StreamError
		var ce http2.ConnectionError
		switch {
		case errors.As(err, &se):
			c.streamError(se)
		case errors.As(err, &ce):
			c.fail(http2.ErrCode(ce))
			return false
		case errors.Is(err, http2.ErrFrameTooLarge):
			c.fail(http2.ErrCodeFrameSize)
			return false
		default: // the client closed the connection, or it failed
			return false
		}
	}
}

// await waits for the client's next bytes, when none is buffered, so that CheckStreams can end the
// wait of a connection that has had no stream for Config.ParkAfter (askPark): the connection then
// goes into the server's idle set, without a goroutine, and await reports true. It reports false
// once bytes came, or with the error that ended the wait otherwise left for ReadFrame to report,
// and at once for a connection that cannot park. The reader's own.
func (c *clientConn) await() bool {
	if c.s.idle == nil || c.raw == nil || c.fc.NextFrameBuffered() {
		return false
	}
	c.mu.Lock()
	c.waiting = true
	c.mu.Unlock()
	err := c.fc.AwaitFrame()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waiting = false
	if !c.parkAsked {
		return false
	}
	c.parkAsked = false
	if c.ending {
		return false // the close, or closeSoftly's deadline, ends the next read
	}
	c.nc.SetReadDeadline(time.Time{}) // askPark's, and only it: closeSoftly sets its own later
	if !errors.Is(err, os.ErrDeadlineExceeded) || c.goAway || len(c.streams) > 0 {
		return false // bytes came after all, the connection failed, or it is draining
	}
	c.fc.ReleaseReader() // before the set may resume the connection on another goroutine
	k, err := c.s.idle.Add(c.raw, c)
	if err != nil {
		return false
	}
	c.parked = k
	return true
}

// askPark ends the reader's wait for the next bytes at now (see await), for it to park the
// connection, when the connection is quiet: no stream and no handler since before idleBefore, and
// no GOAWAY or close under way.
func (c *clientConn) askPark(now, idleBefore time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.waiting && !c.parkAsked && len(c.streams) == 0 && c.running == 0 && !c.goAway && !c.ending &&
		c.idleSince.Before(idleBefore) {
		c.parkAsked = true
		c.nc.SetReadDeadline(now) // passed by the time the reader waits on
	}
}

// resume serves a parked connection again, on a goroutine of its own, once the idle set reported
// it: its client sent something or closed it, or wake took it out to end it. It runs on the set's
// goroutine, or wake's caller, and must not wait.
func (c *clientConn) resume() { go c.unpark() }

// unpark runs the reader of a connection the idle set reported (see resume).
func (c *clientConn) unpark() {
	c.mu.Lock()
	c.parked = 0
	c.mu.Unlock()
	c.run()
}

// wake takes the connection out of the idle set, when it is there, and resumes it: its reader
// then finds what ends it (a read deadline passed, or the socket closed). Not under mu.
func (c *clientConn) wake() {
	c.mu.Lock()
	k := c.parked
	c.mu.Unlock()
	if k != 0 {
		c.s.idle.Wake(k)
	}
}

// finish ends the connection (end) and lets go of it: its own backends, its count, its place among
// the server's connections; then it calls done.
func (c *clientConn) finish() {
	c.end()
	if c.backends != nil {
		c.backends.close()
	}
	c.s.cfg.Metrics.H2ConnClosed()
	c.s.active.doneConn(c)
	if c.done != nil {
		c.done()
	}
}

// flushStarted writes the HEADERS of the streams started on the reader since its last flush: once
// no frame is left to handle without waiting for the client, so that the streams of one read
// leave in one write to each backend connection.
func (c *clientConn) flushStarted() {
	for i, call := range c.started {
		call.Flush()
		c.started[i] = h2upstream.Call{}
	}
	c.started = c.started[:0]
}

// readPreface reads the client preface (RFC 9113 §3.4) within the idle timeout; a connection that
// sends anything else is closed without an answer.
func (c *clientConn) readPreface() bool {
	var buf [len(http2.ClientPreface)]byte
	c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.IdleTimeout))
	err := c.fc.ReadFull(buf[:])
	c.nc.SetReadDeadline(time.Time{})
	return err == nil && string(buf[:]) == http2.ClientPreface
}

// end ends the connection: every stream fails, the socket closes, and serve waits for the
// handlers.
func (c *clientConn) end() {
	c.mu.Lock()
	c.closed = true
	for _, st := range c.streams {
		st.end(errConnClosed)
	}
	c.sendCond.Broadcast()
	if c.idle != nil {
		c.idle.Stop()
	}
	c.mu.Unlock()
	c.nc.Close()
	c.handlers.Wait()
}

// errConnClosed is the error of the streams of a connection that ended.
var errConnClosed = errors.New("h2: client connection closed")

// errStreamClosed is the error of a write to a stream that ended.
var errStreamClosed = errors.New("h2: stream closed")

// fail ends the connection with a connection error (RFC 9113 §5.4.1): GOAWAY with code, and the
// rest of what the client sends read for a moment, so that it reads the GOAWAY rather than a reset.
func (c *clientConn) fail(code http2.ErrCode) {
	c.mu.Lock()
	c.goAway, c.lastID = true, c.maxID
	c.mu.Unlock()
	c.fc.Lock()
	c.fc.Framer.WriteGoAway(c.lastID, code, nil)
	c.fc.Unlock()
	c.fc.Sync()
	c.linger()
}

// linger half-closes the connection and reads it until the client closes it or goAwayLinger
// passes.
func (c *clientConn) linger() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(goAwayLinger))
	io.Copy(io.Discard, c.nc)
}

// drain starts the graceful shutdown of the connection: GOAWAY NO_ERROR with the last stream the
// client opened; the connection closes once its streams have ended.
func (c *clientConn) drain() {
	c.mu.Lock()
	if c.goAway || c.closed {
		c.mu.Unlock()
		return
	}
	c.goAway, c.lastID = true, c.maxID
	done := len(c.streams) == 0 && c.running == 0
	c.mu.Unlock()
	c.fc.Lock()
	c.fc.Framer.WriteGoAway(c.lastID, http2.ErrCodeNo, nil)
	c.fc.Unlock()
	if done {
		c.closeSoftly()
	}
}

// closeSoftly ends a connection without streams, once what is written (its GOAWAY) is on the
// socket: its reader, which may wait for a frame, stops at once.
func (c *clientConn) closeSoftly() {
	c.fc.Sync()
	if cr, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cr.CloseWrite()
	}
	c.mu.Lock() // a reader that ends a park's wait (await) leaves this deadline in place
	c.nc.SetReadDeadline(time.Now())
	c.ending = true
	c.mu.Unlock()
	c.wake()
}

// close closes the connection at once, from outside: a shutdown's grace period ran out, or a write
// failed. A parked connection leaves the idle set first: closed there, it would never be reported.
func (c *clientConn) close() {
	c.mu.Lock()
	c.ending = true
	c.mu.Unlock()
	c.wake()
	c.nc.Close()
}

// checkIdle runs when the idle timer fires: a connection that has had no stream for the idle
// timeout gets GOAWAY and closes; any other is checked again when it could be.
func (c *clientConn) checkIdle() {
	c.mu.Lock()
	idleFor := time.Since(c.idleSince)
	busy := len(c.streams) > 0 || c.running > 0 || c.closed
	timer := c.idle
	c.mu.Unlock()
	switch {
	case busy:
		timer.Reset(c.s.cfg.IdleTimeout)
	case idleFor < c.s.cfg.IdleTimeout:
		timer.Reset(c.s.cfg.IdleTimeout - idleFor)
	default:
		c.drain()
	}
}

// handle handles one frame; an error is a stream or connection error of the http2 package's
// types (see serve).
func (c *clientConn) handle(f http2.Frame) error {
	c.mu.Lock()
	ignore := c.goAway && f.Header().StreamID > c.lastID
	c.mu.Unlock()
	if ignore {
		// After GOAWAY, frames of streams it did not keep are dropped; their DATA still counts
		// against the connection's window, which is given back (RFC 9113 §6.8).
		if d, ok := f.(*http2.DataFrame); ok {
			return c.discardData(d)
		}
		return nil
	}
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return c.handleHeaders(f)
	case *http2.DataFrame:
		return c.handleData(f)
	case *http2.SettingsFrame:
		return c.handleSettings(f)
	case *http2.WindowUpdateFrame:
		return c.handleWindowUpdate(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			c.fc.Lock()
			c.fc.Framer.WritePing(true, f.Data)
			c.fc.Unlock()
		}
	case *http2.RSTStreamFrame:
		return c.handleReset(f)
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID { // RFC 9113 §5.3.1
			return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol}
		}
	case *http2.PushPromiseFrame: // RFC 9113 §8.4: a client cannot push
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	return nil
}

// idleStream reports whether stream id is idle: never opened by the client (RFC 9113 §5.1).
// Under mu.
func (c *clientConn) idleStream(id uint32) bool { return id > c.maxID }

// handleSettings applies the client's settings in order (RFC 9113 §6.5.3, a repeated one too)
// and acknowledges them.
func (c *clientConn) handleSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		c.mu.Lock()
		c.acked = true
		c.mu.Unlock()
		return nil
	}
	if f.NumSettings() > maxSettingsPerFrame {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	c.fc.Lock()
	c.mu.Lock()
	err := c.fc.ApplySettings(f, &c.maxFrame, &c.peerWindow, c.growSendWindows, nil)
	c.sendCond.Broadcast()
	c.mu.Unlock()
	c.fc.Unlock()
	return err
}

// growSendWindows moves the send window of every open stream by delta, a change of the client's
// SETTINGS_INITIAL_WINDOW_SIZE; one past h2conn.MaxWindow is a connection error
// FLOW_CONTROL_ERROR (RFC 9113 §6.9.2). Under mu.
func (c *clientConn) growSendWindows(delta int64) error {
	for _, st := range c.streams {
		if st.sendWindow += delta; st.sendWindow > h2conn.MaxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
	}
	return nil
}

// handleWindowUpdate grows a send window (RFC 9113 §6.9.1).
func (c *clientConn) handleWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sendCond.Broadcast()
	if f.StreamID == 0 {
		if c.sendWindow += int64(f.Increment); c.sendWindow > h2conn.MaxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl)
		}
		return nil
	}
	if c.idleStream(f.StreamID) {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	st := c.streams[f.StreamID]
	if st == nil { // a closed stream's window no longer matters (§6.9)
		return nil
	}
	if st.sendWindow += int64(f.Increment); st.sendWindow > h2conn.MaxWindow {
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeFlowControl}
	}
	return nil
}

// handleReset ends a stream the client reset; its handler's context ends.
func (c *clientConn) handleReset(f *http2.RSTStreamFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idleStream(f.StreamID) {
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	if st := c.streams[f.StreamID]; st != nil {
		st.end(http2.StreamError{StreamID: f.StreamID, Code: f.ErrCode})
	}
	return nil
}

// streamError resets a stream for a stream error (RFC 9113 §5.4.2); the stream, if open, ends.
func (c *clientConn) streamError(se http2.StreamError) {
	c.mu.Lock()
	if se.StreamID%2 == 1 && se.StreamID > c.maxID {
		c.maxID = se.StreamID // the stream is closed from now on (§5.1.1)
	}
	if st := c.streams[se.StreamID]; st != nil {
		st.end(se)
	}
	c.mu.Unlock()
	c.writeReset(se.StreamID, se.Code, false)
}

// writeReset sends RST_STREAM; onReader as lockWrites says.
func (c *clientConn) writeReset(id uint32, code http2.ErrCode, onReader bool) {
	c.lockWrites(onReader)
	c.fc.Framer.WriteRSTStream(id, code)
	c.unlockWrites(onReader)
}

// lockWrites takes the connection's write side; onReader, for a writer on a backend connection's
// reader, without waiting for what is pending to drain (see Server.relayOnReader).
func (c *clientConn) lockWrites(onReader bool) {
	if onReader {
		c.fc.LockUnbounded()
		return
	}
	c.fc.Lock()
}

// unlockWrites releases the write side lockWrites took: it writes what is pending, but for a
// writer on a backend connection's reader, which leaves it for the reader's flush.
func (c *clientConn) unlockWrites(onReader bool) {
	if onReader {
		c.fc.UnlockLater()
		return
	}
	c.fc.Unlock()
}

// discardData takes a DATA frame no stream reads from the connection's window and gives it back.
func (c *clientConn) discardData(f *http2.DataFrame) error {
	c.mu.Lock()
	ok := c.recv.Take(int(f.Length))
	inc := c.recv.Consumed(int(f.Length))
	c.mu.Unlock()
	if !ok {
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.fc.SendWindowUpdates(0, 0, inc)
	return nil
}

// handleData takes a DATA frame: its bytes go to the stream's request body, within the windows
// proxyd gave (RFC 9113 §6.9); a frame on a stream that no longer reads is given back at once.
func (c *clientConn) handleData(f *http2.DataFrame) error {
	id, n, data := f.StreamID, int(f.Length), f.Data()
	c.mu.Lock()
	if c.idleStream(id) {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeProtocol)
	}
	st := c.streams[id]
	if st == nil || st.recvEnd || st.bodyClosed {
		// Read under mu: once it is let go, the stream's handler may end and its state go back
		// to Server.streams, for another connection's stream.
		dropped := st != nil && st.bodyClosed && !st.recvEnd
		c.mu.Unlock()
		if err := c.discardData(f); err != nil {
			return err
		}
		if dropped {
			return nil // the handler is done with the body; the rest is dropped
		}
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
	}
	if !c.recv.Take(n) {
		c.mu.Unlock()
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	var err error
	st.recvBytes += int64(len(data))
	switch {
	case !st.recv.Take(n):
		err = http2.StreamError{StreamID: id, Code: http2.ErrCodeFlowControl}
	case st.wantLength >= 0 && st.recvBytes > st.wantLength: // RFC 9113 §8.1.1
		err = http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	var inc, connInc uint32
	if err != nil {
		connInc = c.recv.Consumed(n)
	} else {
		inc, connInc = h2conn.TakeData(&st.body, &st.recv, &c.recv, n, data)
		st.cond.Signal()
		if f.StreamEnded() {
			err = st.endRequest()
		}
	}
	c.mu.Unlock()
	c.fc.SendWindowUpdates(id, inc, connInc)
	return err
}

// streamCount returns how many streams are open.
func (c *clientConn) streamCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.streams)
}

// streamEnded forgets stream st once it ended both ways or was reset; a connection left without
// streams counts as idle from now on (its close after GOAWAY waits for the handlers, see
// handlerDone). Under mu.
func (c *clientConn) streamEnded(st *clientStream) {
	delete(c.streams, st.id)
	c.sendCond.Broadcast()
	if len(c.streams) == 0 {
		c.idleSince = time.Now()
	}
}

// handlerDone counts a handler that returned, and closes a drained connection it was the last of:
// on a goroutine of its own for a handler on a backend connection's reader (onReader), as the
// close waits for the socket.
func (c *clientConn) handlerDone(onReader bool) {
	c.mu.Lock()
	c.running--
	done := c.goAway && !c.closed && c.running == 0 && len(c.streams) == 0
	c.mu.Unlock()
	switch {
	case done && onReader:
		go c.closeSoftly()
	case done:
		c.closeSoftly()
	}
}
