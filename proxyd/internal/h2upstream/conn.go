package h2upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"time"

	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/h2conn"
	"proxyd.dev/proxyd/internal/netpoll"
)

// Flow-control windows and frame sizes proxyd offers a backend (RFC 9113 §6.5.2, §6.9).
const (
	// streamWindow is the window each stream starts with: how much of a response body may wait in
	// proxyd for a client that reads it slowly, or not at all. A client connection's streams can
	// make proxyd hold that much for each of them (250 GETs of large bodies, never read: 49 MB RSS
	// in all, against 277 MB with 1 MiB).
	streamWindow = 128 << 10
	// maxStreamWindow is what a stream's window may grow to, with credit from its WindowBudget,
	// while its reader keeps up: a download from a fast local backend took 1.6 times as long with
	// streamWindow alone.
	maxStreamWindow = 1 << 20
	// connWindow is the connection's window: large enough that streams left unread by slow
	// clients never hold up the others.
	connWindow = 1 << 30
	// defaultMaxStreams is how many streams a connection opens at once when the backend's
	// SETTINGS set no limit.
	defaultMaxStreams = 1000
)

// conn is one connection to the backend. Its reading goroutine (readLoop) owns the read side of
// the framer; writers share the write side under wmu, the state under mu, in that order.
type conn struct {
	t  *Transport
	nc net.Conn
	fc *h2conn.Conn // the framer, and the write side shared by the streams

	mu       sync.Mutex
	sendCond sync.Cond // on mu: a send window grew, a stream ended, or the connection failed
	streams  map[uint32]*stream
	reserved int    // streams reserved by getConn and not opened yet
	nextID   uint32 // the next stream's id
	// maxStreams is the backend's SETTINGS_MAX_CONCURRENT_STREAMS.
	maxStreams uint32
	// peerWindow is the backend's SETTINGS_INITIAL_WINDOW_SIZE, every new stream's send window.
	peerWindow int64
	sendWindow int64         // the connection's send window
	maxFrame   uint32        // the backend's SETTINGS_MAX_FRAME_SIZE
	recv       h2conn.Window // what the backend may still send on the connection
	goAway     bool          // the backend sent GOAWAY: no new stream
	settings   chan struct{} // closed once the backend's first SETTINGS frame is applied, or the connection failed
	seen       bool          // settings is closed
	err        error         // set once the connection failed or closed
	idleSince  time.Time

	// arrived are the started calls whose heads, or first body bytes, the reader read in its
	// current batch of frames, their done not called yet; flushes are the connections whose
	// writes the done of calls handed over in the batch left pending. Both the reader's own (see
	// handOver).
	arrived []*stream
	flushes []*h2conn.Conn
}

// newConn sets up a connection on nc: the client preface, proxyd's SETTINGS and the connection
// window (RFC 9113 §3.4). A TCP connection's frames are read and written through a
// netpoll.Socket. It does not wait for the backend's SETTINGS.
func newConn(t *Transport, nc net.Conn) (*conn, error) {
	nc = netpoll.WithSocket(nc)
	c := &conn{
		t:          t,
		nc:         nc,
		streams:    make(map[uint32]*stream),
		nextID:     1,
		maxStreams: defaultMaxStreams,
		settings:   make(chan struct{}),
		peerWindow: h2conn.InitialWindow,
		sendWindow: h2conn.InitialWindow,
		maxFrame:   h2conn.FrameSize,
		recv:       h2conn.NewWindow(connWindow),
		idleSince:  time.Now(),
	}
	c.sendCond.L = &c.mu
	c.fc = h2conn.New(nc, nil, nil, nil, t.maxHeaderListSize(), t.WriteTimeout, c.fail)
	c.fc.Busy = t.Busy
	c.fc.Lock()
	c.fc.WriteString(http2.ClientPreface)
	c.fc.Framer.WriteSettings(
		http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: streamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: t.maxHeaderListSize()},
	)
	c.fc.Framer.WriteWindowUpdate(0, connWindow-h2conn.InitialWindow)
	if err := c.fc.Unlock(); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// awaitSettings waits for the backend's first SETTINGS frame; the error is the connection's, or
// ctx's when it ends first (the connection is then closed).
func (c *conn) awaitSettings(ctx context.Context) error {
	select {
	case <-c.settings:
	case <-ctx.Done():
		c.fail(fmt.Errorf("h2upstream: no SETTINGS from the backend: %w", context.Cause(ctx)))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// settingsSeen closes settings, once. Under mu.
func (c *conn) settingsSeen() {
	if !c.seen {
		c.seen = true
		close(c.settings)
	}
}

// handOver calls the done of the started calls whose heads came in the batch of frames just
// handled, each telling whether its whole response came with it, but for a response of known
// length whose body has not begun: its done waits for the body's first bytes (see Done). It then
// flushes, without waiting, the connections where those done left writes. The reader's.
func (c *conn) handOver() {
	for i, s := range c.arrived {
		c.arrived[i] = nil
		c.mu.Lock()
		ok := s.err == nil && s.resp != nil
		complete := ok && s.recvEnd
		held := ok && !s.recvEnd && s.resp.ContentLength >= 0 && s.body.Len() == 0
		s.held = held
		c.mu.Unlock()
		if held {
			continue
		}
		if w := s.done(Call{s}, complete); w != nil && !slices.Contains(c.flushes, w) {
			c.flushes = append(c.flushes, w)
		}
	}
	c.arrived = c.arrived[:0]
	for i, w := range c.flushes {
		w.FlushNoWait()
		c.flushes[i] = nil
	}
	c.flushes = c.flushes[:0]
}

// reserve takes room for one more stream, if the connection has it.
func (c *conn) reserve() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.roomLocked() {
		return false
	}
	c.reserved++
	return true
}

// hasRoom reports whether the connection could take one more stream now.
func (c *conn) hasRoom() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.roomLocked()
}

// roomLocked reports whether the connection could take one more stream: it has not failed or
// gone away, and neither its streams nor its stream ids have run out. Under mu.
func (c *conn) roomLocked() bool {
	return c.err == nil && !c.goAway && uint32(len(c.streams)+c.reserved) < c.maxStreams && c.nextID <= 1<<31-1-2*uint32(c.reserved)
}

// writeControl writes one frame of the connection's own (an acknowledgement, a window update, a
// reset) through write and flushes it with whatever else is pending.
func (c *conn) writeControl(write func(fr *http2.Framer) error) {
	c.fc.Lock()
	write(c.fc.Framer)
	c.fc.Unlock()
}

// fail ends the connection with err: every stream fails with it (errUnprocessed for those the
// backend never saw), the socket closes and the transport forgets the connection.
func (c *conn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	c.settingsSeen()
	for _, s := range c.streams {
		s.end(err)
	}
	c.sendCond.Broadcast()
	c.mu.Unlock()
	c.nc.Close()
	c.t.removeConn(c)
}

// closeIfIdle closes the connection when it has no stream and expired says its idle time ran out.
func (c *conn) closeIfIdle(expired func(since time.Time) bool) {
	c.mu.Lock()
	idle := c.err == nil && len(c.streams) == 0 && c.reserved == 0 && expired(c.idleSince)
	c.mu.Unlock()
	if idle {
		c.fail(errConnClosed)
	}
}

// readLoop reads the backend's frames until the connection fails, and hands each to its stream.
func (c *conn) readLoop() {
	defer c.handOver()
	for {
		if len(c.arrived) > 0 && !c.fc.NextFrameBuffered() {
			c.handOver() // before a read that may wait
		}
		f, err := c.fc.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				c.streamFailed(se.StreamID, se.Code, &MalformedResponseError{Reason: se.Error()})
				continue
			}
			var ce http2.ConnectionError
			if errors.As(err, &ce) {
				c.goAwayAndFail(http2.ErrCode(ce), &MalformedResponseError{Reason: err.Error()})
				return
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			c.fail(err)
			return
		}
		if err := c.handle(f); err != nil {
			c.goAwayAndFail(goAwayCode(err), err)
			return
		}
	}
}

// handle processes one frame; an error ends the connection (goAwayCode).
func (c *conn) handle(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.MetaHeadersFrame:
		return c.handleHeaders(f)
	case *http2.DataFrame:
		return c.handleData(f)
	case *http2.RSTStreamFrame:
		c.handleReset(f)
	case *http2.SettingsFrame:
		return c.handleSettings(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			data := f.Data
			c.writeControl(func(fr *http2.Framer) error { return fr.WritePing(true, data) })
		}
	case *http2.GoAwayFrame:
		c.handleGoAway(f)
	case *http2.WindowUpdateFrame:
		return c.handleWindowUpdate(f)
	case *http2.PushPromiseFrame:
		return &MalformedResponseError{Reason: "PUSH_PROMISE with push disabled"}
	}
	return nil
}

// goAwayCode is the error code of the GOAWAY for err, what a frame's handling failed with: a
// connection error's own code, else PROTOCOL_ERROR (RFC 9113 §5.4.1).
func goAwayCode(err error) http2.ErrCode {
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		return http2.ErrCode(ce)
	}
	return http2.ErrCodeProtocol
}

// flowControlError is the backend's violation of a flow-control window, a malformed response that
// is a connection error of type FLOW_CONTROL_ERROR (RFC 9113 §6.9).
func flowControlError(reason string) error {
	return &MalformedResponseError{Reason: reason, Err: http2.ConnectionError(http2.ErrCodeFlowControl)}
}

// goAwayAndFail tells the backend why the connection ends, and fails it.
func (c *conn) goAwayAndFail(code http2.ErrCode, err error) {
	c.writeControl(func(fr *http2.Framer) error { return fr.WriteGoAway(0, code, nil) })
	c.fc.Sync()
	c.fail(err)
}

// opened reports whether stream id was ever opened on the connection (it may be closed since).
// Under mu.
func (c *conn) opened(id uint32) bool { return id%2 == 1 && id < c.nextID }

// handleSettings applies the backend's settings (RFC 9113 §6.5.2) and acknowledges them.
func (c *conn) handleSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	c.fc.Lock()
	c.mu.Lock()
	err := c.fc.ApplySettings(f, &c.maxFrame, &c.peerWindow, c.growSendWindows, c.applySetting)
	c.settingsSeen()
	c.sendCond.Broadcast()
	c.mu.Unlock()
	c.fc.Unlock()
	return err
}

// growSendWindows moves the send window of every open stream by delta, a change of the backend's
// SETTINGS_INITIAL_WINDOW_SIZE; one past h2conn.MaxWindow is a flow-control error of the
// connection (RFC 9113 §6.9.2). Under mu.
func (c *conn) growSendWindows(delta int64) error {
	for _, s := range c.streams {
		if s.sendWindow += delta; s.sendWindow > h2conn.MaxWindow {
			return flowControlError("SETTINGS_INITIAL_WINDOW_SIZE takes a stream window over 2^31-1")
		}
	}
	return nil
}

// applySetting keeps the one setting only the h2c client keeps: SETTINGS_MAX_CONCURRENT_STREAMS.
// Under mu.
func (c *conn) applySetting(s http2.Setting) {
	if s.ID == http2.SettingMaxConcurrentStreams {
		c.maxStreams = s.Val
	}
}

// handleWindowUpdate grows a send window (RFC 9113 §6.9.1); one past 2^31-1 is a flow-control
// error of the stream or the connection.
func (c *conn) handleWindowUpdate(f *http2.WindowUpdateFrame) error {
	c.mu.Lock()
	c.sendCond.Broadcast()
	if f.StreamID == 0 {
		c.sendWindow += int64(f.Increment)
		over := c.sendWindow > h2conn.MaxWindow
		c.mu.Unlock()
		if over {
			return flowControlError("connection window over 2^31-1")
		}
		return nil
	}
	s := c.streams[f.StreamID]
	over := false
	if s != nil {
		s.sendWindow += int64(f.Increment)
		over = s.sendWindow > h2conn.MaxWindow
	}
	c.mu.Unlock()
	if over {
		c.reset(s, http2.ErrCodeFlowControl, &MalformedResponseError{Reason: "stream window over 2^31-1"})
	}
	return nil
}

// handleGoAway stops new streams on the connection and fails those above the backend's last
// one as unprocessed (RFC 9113 §6.8); the connection closes once its other streams are done.
func (c *conn) handleGoAway(f *http2.GoAwayFrame) {
	c.mu.Lock()
	c.goAway = true
	for id, s := range c.streams {
		if id > f.LastStreamID {
			s.end(errUnprocessed)
		}
	}
	done := len(c.streams) == 0
	c.sendCond.Broadcast()
	c.mu.Unlock()
	if done {
		c.fail(errConnClosed)
	}
}

// handleReset ends a stream the backend reset; REFUSED_STREAM before a response head means the
// backend never processed it (RFC 9113 §8.7).
func (c *conn) handleReset(f *http2.RSTStreamFrame) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.streams[f.StreamID]
	if s == nil {
		return
	}
	var err error = &streamResetError{code: f.ErrCode}
	if f.ErrCode == http2.ErrCodeRefusedStream && s.resp == nil {
		err = errUnprocessed
	}
	s.end(err)
}

// streamFailed resets stream id with code because of err, a frame of it that the framer refused.
func (c *conn) streamFailed(id uint32, code http2.ErrCode, err error) {
	c.mu.Lock()
	s := c.streams[id]
	c.mu.Unlock()
	if s != nil {
		c.reset(s, code, err)
	}
}

// reset ends stream s with err and sends RST_STREAM with code, unless the stream already ended
// both ways or was reset.
func (c *conn) reset(s *stream, code http2.ErrCode, err error) {
	c.mu.Lock()
	send := !s.removed
	s.end(err)
	c.mu.Unlock()
	if send {
		c.writeControl(func(fr *http2.Framer) error { return fr.WriteRSTStream(s.id, code) })
	}
}

// remove forgets stream s once both of its directions have ended. Under mu.
func (c *conn) remove(s *stream) {
	if s.removed {
		return
	}
	s.removed = true
	delete(c.streams, s.id)
	if s.stopCtx != nil {
		s.stopCtx()
	}
	if len(c.streams) == 0 {
		c.idleSince = time.Now()
		if c.goAway && c.err == nil {
			go c.fail(errConnClosed)
		}
	}
	c.sendCond.Broadcast()
}
