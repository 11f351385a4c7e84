package h2

import (
	"bytes"
	"io"
	"net"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// inspectedConn is the client side of an HTTP/2 connection as x/net/http2 reads it. Every frame
// reaches the library as the client sent it but for two rules of RFC 9113 that the library answers
// otherwise, which are applied before it sees them:
//   - a request whose header block has a connection-specific field, several TE fields or a TE
//     other than "trailers" is malformed (§8.2.2), a stream error PROTOCOL_ERROR (§8.1.1), where
//     the library answers 400: the block gets one more field, invalid in HTTP/2 (see
//     markMalformed), for which the library resets the stream itself. A request that the library
//     fails for another reason too (a header list over its limit, an invalid field in the same
//     frame) keeps the library's answer, or gets a connection error PROTOCOL_ERROR, which §5.4
//     allows for any stream error;
//   - the values of a SETTINGS frame apply in order, those of a repeated setting too (§6.5.3),
//     where the library closes the connection on a repeated setting: it gets the frame with one
//     value per setting (see collapseSettings).
//
// To see the fields, it decodes every header block with an HPACK decoder of its own, which takes
// the same blocks as the library's and so keeps the same dynamic table. Of every other frame but
// SETTINGS it reads only the 9-byte header; the payload passes from the connection to the library
// as the library reads it. After anything it cannot follow (a frame over the size limit or that
// does not parse, an HPACK error, a read error) it passes the rest of the connection through
// untouched, and the library fails the connection for the same cause. Only the library's frame
// reader goroutine reads it.
type inspectedConn struct {
	net.Conn // the client connection with the bytes read before the hand-over, see prefacedConn
	// src reads Conn for fr and keeps the bytes of the frame being inspected.
	src recorder
	// fr parses the frames read through src and writes the frames rewritten into rewritten.
	fr        *http2.Framer
	rewritten bytes.Buffer
	dec       *hpack.Decoder
	// block describes the header block being decoded; dec's emit function fills it.
	block headerBlock
	// maxHeaderListSize is the library's SETTINGS_MAX_HEADER_LIST_SIZE: a longer header list it
	// answers 431, which a stream error must not replace.
	maxHeaderListSize uint32
	// out is what to return of the current frame before reading on: its header, or all of it.
	out []byte
	// through counts the bytes of the current frame's payload still to pass straight from Conn.
	through int
	// passAll is set once the connection is no longer inspected.
	passAll bool
}

// newInspectedConn returns conn inspected for a server whose SETTINGS_MAX_HEADER_LIST_SIZE is
// maxHeaderListSize, starting before the client preface.
func newInspectedConn(conn net.Conn, maxHeaderListSize uint32) *inspectedConn {
	c := &inspectedConn{Conn: conn, maxHeaderListSize: maxHeaderListSize, through: len(http2.ClientPreface)}
	c.src.r = conn
	c.fr = http2.NewFramer(&c.rewritten, &c.src)
	// The library checks the order of frames; the inspection takes them as they come.
	c.fr.AllowIllegalReads = true
	c.fr.SetMaxReadFrameSize(maxFrameSize)
	c.dec = hpack.NewDecoder(headerTableSize, c.block.field)
	c.dec.SetMaxStringLength(int(maxHeaderListSize))
	return c
}

// Read returns the next bytes of the client's frames, inspected, and rewritten where a rule says so.
func (c *inspectedConn) Read(p []byte) (int, error) {
	if len(c.out) == 0 && c.through == 0 && !c.passAll {
		c.out = c.next()
	}
	if len(c.out) > 0 {
		n := copy(p, c.out)
		c.out = c.out[n:]
		return n, nil
	}
	if !c.passAll && len(p) > c.through {
		p = p[:c.through]
	}
	n, err := c.Conn.Read(p)
	c.through -= n
	return n, err
}

// next reads the header of the next frame and returns what to pass on before its payload, setting
// through to the payload that follows; a header block fragment or a SETTINGS frame it reads whole
// and returns whole, rewritten when a rule says so.
func (c *inspectedConn) next() []byte {
	c.src.buf = c.src.buf[:0]
	fh, err := c.fr.ReadFrameHeader()
	switch {
	case err != nil:
		return c.giveUp()
	case fh.Type == http2.FrameHeaders || fh.Type == http2.FrameContinuation:
		return c.headerFragment(fh)
	case fh.Type == http2.FrameSettings && !fh.Flags.Has(http2.FlagSettingsAck):
		return c.settings(fh)
	}
	c.through = int(fh.Length)
	return c.src.buf
}

// giveUp stops the inspection: the bytes read of the current frame and everything after them pass
// through untouched.
func (c *inspectedConn) giveUp() []byte {
	c.passAll = true
	return c.src.buf
}

// fragment is a frame that carries a piece of a header block: HEADERS or CONTINUATION.
type fragment interface {
	HeaderBlockFragment() []byte
	HeadersEnded() bool
}

// headerFragment reads the rest of a HEADERS or CONTINUATION frame, decodes its piece of the
// header block and returns the frame, followed by a field that makes the block malformed when the
// block ends here and it is.
func (c *inspectedConn) headerFragment(fh http2.FrameHeader) []byte {
	f, err := c.fr.ReadFrameForHeader(fh)
	if err != nil {
		return c.giveUp()
	}
	if fh.Type == http2.FrameHeaders {
		c.block = headerBlock{}
	}
	frag := f.(fragment)
	if _, err := c.dec.Write(frag.HeaderBlockFragment()); err != nil {
		return c.giveUp()
	}
	if !frag.HeadersEnded() {
		return c.src.buf
	}
	if err := c.dec.Close(); err != nil {
		return c.giveUp()
	}
	if !c.block.malformed || c.block.size > uint64(c.maxHeaderListSize) {
		return c.src.buf
	}
	return c.markMalformed(fh.StreamID)
}

// markMalformed returns the frame that ends a malformed request's header block, raw, without its
// END_HEADERS flag, and after it a CONTINUATION frame that ends the block with a field whose name
// has upper-case letters, invalid in HTTP/2 (RFC 9113 §8.2.1): the library resets the stream with
// PROTOCOL_ERROR for it, once it has decoded the whole block. The field is a literal never indexed
// (RFC 7541 §6.2.3), which leaves the library's dynamic table as the client's encoder has it.
func (c *inspectedConn) markMalformed(stream uint32) []byte {
	raw := c.src.buf
	raw[frameFlagsOffset] &^= byte(http2.FlagHeadersEndHeaders) // the same bit in CONTINUATION
	var field bytes.Buffer
	hpack.NewEncoder(&field).WriteField(hpack.HeaderField{Name: "Malformed-Request", Sensitive: true})
	c.rewritten.Reset()
	c.rewritten.Write(raw)
	// Writes to a bytes.Buffer do not fail.
	c.fr.WriteContinuation(stream, true, field.Bytes())
	return c.rewritten.Bytes()
}

// frameFlagsOffset is the offset of the flags in a frame header (RFC 9113 §4.1).
const frameFlagsOffset = 4

// settings reads the rest of a SETTINGS frame and returns it, with one value per setting when it
// repeats some.
func (c *inspectedConn) settings(fh http2.FrameHeader) []byte {
	f, err := c.fr.ReadFrameForHeader(fh)
	if err != nil {
		return c.giveUp()
	}
	collapsed, ok := collapseSettings(f.(*http2.SettingsFrame))
	if !ok {
		return c.src.buf
	}
	c.rewritten.Reset()
	// Writes to a bytes.Buffer do not fail.
	c.fr.WriteSettings(collapsed...)
	return c.rewritten.Bytes()
}

// collapseSettings returns the settings of f with one value per setting, in the order they first
// appear, when f repeats some, has no more than the library takes in one frame and every value is
// valid; ok is false for any other frame, which the library takes as it is. Applying the values in
// order, as RFC 9113 §6.5.3 asks, leaves the last value of a setting in force, and that is the value
// kept; only for SETTINGS_HEADER_TABLE_SIZE the smallest is kept, since the encoder must signal the
// smallest size it was given between two header blocks (RFC 7541 §4.2), and a table that size is
// within every later value. A repeated SETTINGS_INITIAL_WINDOW_SIZE is not checked for the
// window overflow an intermediate value could have caused (§6.9.2).
func collapseSettings(f *http2.SettingsFrame) (collapsed []http2.Setting, ok bool) {
	n := f.NumSettings()
	if n > maxSettingsPerFrame || !f.HasDuplicates() {
		return nil, false
	}
	collapsed = make([]http2.Setting, 0, n)
	for i := range n {
		s := f.Setting(i)
		if s.Valid() != nil {
			return nil, false
		}
		j := 0
		for j < len(collapsed) && collapsed[j].ID != s.ID {
			j++
		}
		switch {
		case j == len(collapsed):
			collapsed = append(collapsed, s)
		case s.ID == http2.SettingHeaderTableSize:
			collapsed[j].Val = min(collapsed[j].Val, s.Val)
		default:
			collapsed[j].Val = s.Val
		}
	}
	return collapsed, true
}

// maxSettingsPerFrame is the most settings x/net/http2 takes in one SETTINGS frame; it closes the
// connection of a client that sends more.
const maxSettingsPerFrame = 100

// headerBlock is what the fields of the header block being decoded say.
type headerBlock struct {
	// size is the header list size of the fields so far (RFC 9113 §6.5.2).
	size uint64
	// te counts the TE fields.
	te int
	// malformed is set by a connection-specific field, a second TE field or a TE other than
	// "trailers" (empty counts as absent): the fields x/net/http2 answers 400 for.
	malformed bool
}

// field takes the next field of the block.
func (b *headerBlock) field(f hpack.HeaderField) {
	b.size += uint64(f.Size())
	if f.Name == "te" {
		b.te++
		b.malformed = b.malformed || b.te > 1 || (f.Value != "trailers" && f.Value != "")
		return
	}
	b.malformed = b.malformed || isConnectionField(f.Name)
}

// recorder reads r and keeps a copy of the bytes read in buf.
type recorder struct {
	r   io.Reader
	buf []byte
}

// Read reads r and appends what it read to buf.
func (rc *recorder) Read(p []byte) (int, error) {
	n, err := rc.r.Read(p)
	rc.buf = append(rc.buf, p[:n]...)
	return n, err
}
