// Package h2conn holds what both of proxyd's HTTP/2 roles, the server of client connections and
// the h2c client of backends, do alike on a connection, on golang.org/x/net/http2's Framer and
// hpack: a write side shared by many goroutines, where the writes of a burst share one flush and
// one write deadline; header blocks encoded and split into HEADERS and CONTINUATION frames; field
// names in either case; and the receive buffer of a stream's body with its flow-control credit.
package h2conn

import (
	"bytes"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"proxyd.dev/proxyd/internal/netpoll"
)

// FrameSize is the largest frame proxyd reads: the initial SETTINGS_MAX_FRAME_SIZE of RFC 9113
// §4.2, which proxyd never raises.
const FrameSize = 16 << 10

// HeaderTableSize is the size of proxyd's HPACK decoders' dynamic table
// (SETTINGS_HEADER_TABLE_SIZE, RFC 9113 §6.5.2, the initial value).
const HeaderTableSize = 4096

// maxCachedNames bounds each cache of field names.
const maxCachedNames = 256

// maxKept bounds the buffer a connection keeps for its next writes once a write is done.
const maxKept = 2 * FrameSize

// keptReadBuf bounds the payload buffer a frame reader may keep without FrameReaderGrown reporting
// it: the Framer keeps one as large as the largest frame it read.
const keptReadBuf = 4 << 10

// maxPending bounds the bytes written and waiting for the socket: a writer that finds more waits
// until they are written, so a peer that reads slowly holds back its writers rather than grows
// the buffer.
const maxPending = 64 << 10

// Conn is one HTTP/2 connection's framer and write side. Frames are read by one goroutine, the
// connection's reader, with ReadFrame; they are written by any goroutine between Lock and Unlock.
//
// Frames go into a buffer. The writer that unlocks it while no write to the socket is under way
// writes it, outside the lock, and goes on writing what other writers added meanwhile until
// nothing is left: the frames of concurrent streams share a write(2), and a writer that comes
// while another writes does not wait for the socket.
type Conn struct {
	// Framer writes the frames, between Lock and Unlock; the reader reads them with ReadFrame.
	Framer *http2.Framer

	// Busy, when set, reports whether other writers are likely to come at once (other streams of
	// the connection are being handled): the writer about to write to the socket then yields the
	// processor once, so that their frames share the write. Set before the first Lock.
	Busy func() bool

	nc      net.Conn
	rc      syscall.RawConn // nc's, for FlushNoWait; nil when not given
	timeout time.Duration
	onError func(error) // called once, by the writer whose write to the socket failed

	mu       sync.Mutex
	written  sync.Cond // on mu: a write to the socket ended
	pending  []byte    // frames not written to the socket yet
	spare    []byte    // the buffer being written, then the next pending
	flushing bool      // a writer is writing to the socket
	enc      *hpack.Encoder
	block    bytes.Buffer // the header block being encoded
	lower    nameCache    // canonical field names in lower case
	armed    time.Time    // when the write deadline was last set; the flushing writer's
	err      error        // the first write error
	// canonical holds lower-case field names in canonical form; the reader's own.
	canonical nameCache
	// blocks decodes the header blocks read; the reader's own.
	blocks blockReader
	// rd holds what was read from the socket and not framed yet; the reader's own.
	rd readSide
	// frames reads the frames from rd; nil once ReleaseReader let go of it. The reader's own.
	frames *http2.Framer
}

// New returns the framer and write side of nc, reading header blocks of at most maxHeaderList
// bytes (RFC 9113 §6.5.2) and frames of at most FrameSize. The reader takes first, bytes already
// read from nc, before nc's own; with bufs, and nc a *netpoll.Conn, it borrows its buffer from
// bufs whenever it reads and gives it back once framed, so that an idle connection holds none. rc is
// nc's RawConn, which FlushNoWait writes through; with nil, FlushNoWait leaves all its writing to
// a goroutine of its own. A write that makes no progress for writeTimeout fails (0: no bound); the
// first failed write calls onError, once, from the writer's goroutine.
func New(nc net.Conn, rc syscall.RawConn, first []byte, bufs netpoll.Buffers, maxHeaderList uint32,
	writeTimeout time.Duration, onError func(error)) *Conn {
	c := &Conn{
		nc:        nc,
		rc:        rc,
		timeout:   writeTimeout,
		onError:   onError,
		lower:     make(nameCache),
		canonical: make(nameCache),
	}
	c.written.L = &c.mu
	c.rd.init(nc, first, bufs)
	c.Framer = http2.NewFramer((*frameSink)(c), nil)
	c.frames = c.newFrameReader()
	c.blocks.init(maxHeaderList)
	c.enc = hpack.NewEncoder(&c.block)
	return c
}

// newFrameReader returns a Framer that reads frames of at most FrameSize from rd.
func (c *Conn) newFrameReader() *http2.Framer {
	fr := http2.NewFramer(nil, &c.rd)
	fr.SetMaxReadFrameSize(FrameSize)
	fr.SetReuseFrames()
	return fr
}

// ReadFrame reads the next frame, as Framer.ReadFrame does, and returns a header block, a HEADERS
// frame and the CONTINUATION frames after it, as one *http2.MetaHeadersFrame, decoded as
// Framer.ReadMetaHeaders would: a field that HTTP/2 does not allow is a StreamError, a block over
// the header list limit comes Truncated, without its fields. The frame is valid until the next
// ReadFrame. The reader's own.
func (c *Conn) ReadFrame() (http2.Frame, error) {
	if c.frames == nil {
		c.frames = c.newFrameReader()
	}
	f, err := c.frames.ReadFrame()
	if hf, ok := f.(*http2.HeadersFrame); ok && err == nil {
		return c.blocks.read(c.frames, hf)
	}
	return f, err
}

// FrameReaderGrown reports whether the frame reader keeps a payload buffer over keptReadBuf, as
// large as the largest frame it read. The reader's own.
func (c *Conn) FrameReaderGrown() bool { return c.rd.largest > keptReadBuf }

// ReleaseReader lets go of what the reader keeps between frames: the frame reader, with its payload
// buffer and the frames it reuses, and the last header block's fields. ReadFrame makes them again.
// The reader calls it for a connection about to wait long for its next frame, and for one with no
// stream open whose frame reader has grown (FrameReaderGrown), so that an idle connection does not
// keep the buffer of a large frame; mid-stream, the next large frame would only allocate it again.
// It does nothing while bytes read wait to be framed. The reader's own.
func (c *Conn) ReleaseReader() {
	if len(c.rd.buffered()) == 0 {
		c.frames, c.rd.largest = nil, 0
		c.blocks.meta = http2.MetaHeadersFrame{}
	}
}

// frameHeaderLen is the length of a frame's header (RFC 9113 §4.1).
const frameHeaderLen = 9

// NextFrameBuffered reports whether the next frame has already been read from the socket whole, so
// that ReadFrame returns it without waiting for the peer. A HEADERS frame without END_HEADERS
// counts as not buffered: the CONTINUATION frames after it may not be. The reader's own.
func (c *Conn) NextFrameBuffered() bool {
	h := c.rd.buffered()
	n := len(h)
	if n < frameHeaderLen {
		return false
	}
	length := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
	if http2.FrameType(h[3]) == http2.FrameHeaders && http2.Flags(h[4])&http2.FlagHeadersEndHeaders == 0 {
		return false
	}
	return n >= frameHeaderLen+length
}

// frameSink is where the Framer writes frames: the pending buffer. Under Lock.
type frameSink Conn

// Write adds the frame in p to the pending buffer.
func (s *frameSink) Write(p []byte) (int, error) {
	s.pending = append(s.pending, p...)
	return len(p), nil
}

// Lock takes the write side, once what is pending is under maxPending.
func (c *Conn) Lock() {
	c.mu.Lock()
	for c.flushing && len(c.pending) >= maxPending && c.err == nil {
		c.written.Wait()
	}
}

// Backlogged reports whether the writes waiting for the socket are near maxPending, where Lock
// starts to wait: the peer is slow to read. Not under Lock.
func (c *Conn) Backlogged() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) >= maxPending/2
}

// UnlockLater releases the write side without writing what is pending: it goes with the next
// Unlock or Flush, which the caller must see to.
func (c *Conn) UnlockLater() { c.mu.Unlock() }

// Flush writes what is pending, as Unlock does. Not under Lock: it takes it.
func (c *Conn) Flush() error {
	c.Lock()
	return c.Unlock()
}

// LockUnbounded takes the write side at once, however much is pending: for a writer that must not
// wait for the socket (see FlushNoWait), which bounds what it adds itself.
func (c *Conn) LockUnbounded() { c.mu.Lock() }

// Unlock releases the write side. Unless another writer is writing to the socket, and will write
// these frames too, it writes what is pending, and what others add meanwhile, before it returns.
// It returns the connection's first write error, if any: the connection is broken.
func (c *Conn) Unlock() error {
	if c.flushing || c.err != nil || len(c.pending) == 0 {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.flushing = true
	if c.Busy != nil && c.Busy() {
		// Others are about to write: let them add their frames to this write.
		c.mu.Unlock()
		runtime.Gosched()
		c.mu.Lock()
	}
	return c.writeOut(nil, nil)
}

// FlushNoWait writes what is pending, as Flush does, but without waiting for the socket: what the
// kernel does not take at once, and what others add meanwhile, a goroutine of its own writes. For
// a writer that serves other connections too, which a client slow to read must not hold up. Not
// under Lock: it takes it.
func (c *Conn) FlushNoWait() {
	c.mu.Lock()
	if c.flushing || c.err != nil || len(c.pending) == 0 {
		c.mu.Unlock()
		return
	}
	c.flushing = true
	buf := c.pending
	c.pending = c.spare[:0]
	c.mu.Unlock()
	n := 0
	if c.rc != nil {
		n = netpoll.TryWrite(c.rc, buf)
	}
	c.mu.Lock()
	if n == len(buf) {
		c.spare = buf[:0]
		c.written.Broadcast()
		if len(c.pending) == 0 {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		buf, n = nil, 0 // what others added is for the goroutine
	}
	c.mu.Unlock()
	go c.writeRest(buf[n:], buf)
}

// writeRest writes, as the flushing writer, the unsent rest of buf and then what is pending.
func (c *Conn) writeRest(unsent, buf []byte) {
	c.mu.Lock()
	c.writeOut(unsent, buf)
}

// writeOut writes to the socket as the flushing writer (flushing is set): first unsent, the rest
// of buf, a buffer taken from pending, then what is pending, and what others add meanwhile, until
// nothing is left or a write fails. Under Lock; it releases it.
func (c *Conn) writeOut(unsent, buf []byte) error {
	for (len(unsent) > 0 || len(c.pending) > 0) && c.err == nil {
		if len(unsent) == 0 {
			buf = c.pending
			unsent = buf
			c.pending = c.spare[:0]
		}
		c.armDeadline()
		c.mu.Unlock()
		_, err := c.nc.Write(unsent)
		c.mu.Lock()
		c.spare, unsent = buf[:0], nil
		c.err = err
		c.written.Broadcast()
	}
	c.flushing = false
	if cap(c.spare) > maxKept {
		c.spare = nil // a burst's buffer goes back to the heap rather than stay with an idle connection
	}
	err := c.err
	c.mu.Unlock()
	if err != nil && c.onError != nil {
		c.onError(err)
	}
	return err
}

// Sync waits until what is pending is written to the socket, and returns the connection's write
// error, if any.
func (c *Conn) Sync() error {
	c.Lock()
	for c.flushing && c.err == nil {
		c.written.Wait()
	}
	return c.Unlock()
}

// armDeadline pushes the write deadline on when a quarter of the timeout has passed since it was
// last set: a write that makes no progress fails between the timeout and 1.25 times it. The
// flushing writer's.
func (c *Conn) armDeadline() {
	if d := c.timeout; d > 0 {
		if now := time.Now(); now.Sub(c.armed) >= d/4 {
			c.nc.SetWriteDeadline(now.Add(d + d/4))
			c.armed = now
		}
	}
}

// WriteString writes s as it is (the client preface). Under Lock.
func (c *Conn) WriteString(s string) { c.pending = append(c.pending, s...) }

// ApplySettings applies the settings of the peer's SETTINGS frame f in order (RFC 9113 §6.5.3, a
// repeated one too) and, once every one is valid, writes the acknowledgement. It keeps what both
// roles keep: SETTINGS_HEADER_TABLE_SIZE in the encoder, SETTINGS_MAX_FRAME_SIZE in *maxFrame, and
// SETTINGS_INITIAL_WINDOW_SIZE in *initialWindow, its change passed to grow, which moves the open
// streams' send windows by it; any other setting goes to other, when not nil. The first error,
// an invalid setting's or grow's, stops it. Under Lock; the caller holds what guards maxFrame,
// initialWindow and what grow and other change.
func (c *Conn) ApplySettings(f *http2.SettingsFrame, maxFrame *uint32, initialWindow *int64, grow func(delta int64) error, other func(http2.Setting)) error {
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - *initialWindow
			*initialWindow = int64(s.Val)
			return grow(delta)
		case http2.SettingMaxFrameSize:
			*maxFrame = s.Val
		case http2.SettingHeaderTableSize:
			c.enc.SetMaxDynamicTableSizeLimit(s.Val)
		default:
			if other != nil {
				other(s)
			}
		}
		return nil
	})
	if err == nil {
		c.Framer.WriteSettingsAck()
	}
	return err
}

// StartBlock starts a new header block. Under Lock.
func (c *Conn) StartBlock() { c.block.Reset() }

// Field adds one field, its name in lower case, to the block. Under Lock.
func (c *Conn) Field(name, value string) {
	c.enc.WriteField(hpack.HeaderField{Name: name, Value: value})
}

// Fields adds the fields of h for which keep is true to the block, their names in lower case.
// Under Lock.
func (c *Conn) Fields(h http.Header, keep func(name string, values []string) bool) {
	for name, values := range h {
		if !keep(name, values) {
			continue
		}
		lower := c.lower.get(name, strings.ToLower)
		for _, v := range values {
			c.Field(lower, v)
		}
	}
}

// LowerName returns name in lower case, as HTTP/2 writes it (RFC 9113 §8.2.1). Under Lock.
func (c *Conn) LowerName(name string) string { return c.lower.get(name, strings.ToLower) }

// WriteBlock writes the block on stream id as a HEADERS frame and as many CONTINUATION frames as
// frames of at most maxFrame bytes take. Under Lock.
func (c *Conn) WriteBlock(id uint32, endStream bool, maxFrame uint32) {
	block := c.block.Bytes()
	first := true
	for first || len(block) > 0 {
		frag := block[:min(len(block), int(maxFrame))]
		block = block[len(frag):]
		if first {
			c.Framer.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: frag, EndStream: endStream, EndHeaders: len(block) == 0})
			first = false
		} else {
			c.Framer.WriteContinuation(id, len(block) == 0, frag)
		}
	}
}

// Header returns fields as a new http.Header (see FillHeader). The reader's own.
func (c *Conn) Header(fields []hpack.HeaderField) http.Header {
	return c.FillHeader(nil, fields)
}

// FillHeader puts fields in h, an empty map (a nil h gets a new one), with canonical names, and
// returns it; the values of the names that come once share one array, as net/textproto's reader
// does. A map emptied with clear keeps its room: filling it again allocates no table. The
// reader's own.
func (c *Conn) FillHeader(h http.Header, fields []hpack.HeaderField) http.Header {
	if h == nil {
		h = make(http.Header, len(fields))
	}
	values := make([]string, len(fields))
	for i, f := range fields {
		name := c.canonical.get(f.Name, http.CanonicalHeaderKey)
		if vv, ok := h[name]; ok {
			h[name] = append(vv, f.Value)
			continue
		}
		values[i] = f.Value
		h[name] = values[i : i+1 : i+1]
	}
	return h
}

// nameCache keeps field names in their other case, up to maxCachedNames of them.
type nameCache map[string]string

// get returns convert(name), from the cache when it is there.
func (m nameCache) get(name string, convert func(string) string) string {
	if v, ok := m[name]; ok {
		return v
	}
	v := convert(name)
	if len(m) < maxCachedNames {
		m[name] = v
	}
	return v
}

// SendWindowUpdates gives the peer back inc bytes of stream id's window and connInc of the
// connection's, each only when not 0, and writes them with whatever else is pending. Not under
// Lock: it takes it.
func (c *Conn) SendWindowUpdates(id, inc, connInc uint32) {
	if inc == 0 && connInc == 0 {
		return
	}
	c.Lock()
	if inc > 0 {
		c.Framer.WriteWindowUpdate(id, inc)
	}
	if connInc > 0 {
		c.Framer.WriteWindowUpdate(0, connInc)
	}
	c.Unlock()
}
