package wire

import (
	"errors"
	"io"
	"net"
)

// ErrBufferFull is returned by [Reader.Fill] when the buffer has no free space (or no buffer is
// attached): consume bytes with Discard, or Grow the buffer.
var ErrBufferFull = errors.New("wire: buffer full")

// maxEmptyReads is how many consecutive reads returning no bytes and no error Fill tolerates before
// it gives up with io.ErrNoProgress.
const maxEmptyReads = 100

// Reader is a buffered reader over a connection whose buffer the caller supplies and may take back
// while the connection is idle, so that an idle connection holds no buffer. The buffered bytes are
// Buffered()[0:]; Fill reads more, Discard consumes them.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	src      io.Reader
	buf      []byte // the attached buffer; len(buf) is its capacity
	r, w     int    // the buffered bytes are buf[r:w]
	progress *Progress
	pipes    *PipeBudget
}

// A TCPSource is a source that reads one TCP connection and nothing else, by means of its own (a
// faster read, say): its Read returns the connection's bytes as they come, and TCPConn returns
// the connection. The relays splice from it as from a *net.TCPConn (see CopyLength); a source of
// any other type that wraps a connection is read through its Read.
type TCPSource interface {
	io.Reader
	TCPConn() *net.TCPConn
}

// A TCPSink is a destination that writes to one TCP connection and nothing else, by means of its
// own: its Write writes all of p to the connection, and TCPConn returns the connection. The relays
// splice to it as to a *net.TCPConn; a destination of any other type that wraps a connection is
// written through its Write.
type TCPSink interface {
	io.Writer
	TCPConn() *net.TCPConn
}

// NewReader returns a Reader over src with no buffer attached.
func NewReader(src io.Reader) *Reader { return &Reader{src: src} }

// Reset makes r read from src: it keeps the buffer and drops the buffered bytes.
func (r *Reader) Reset(src io.Reader) {
	r.src = src
	r.r, r.w = 0, 0
}

// SetProgress makes r and the relays reading through it count their reads and writes in p (nil:
// count nothing). Reset keeps it.
func (r *Reader) SetProgress(p *Progress) { r.progress = p }

// SetPipeBudget makes the relays reading through r grow the pipes they splice through as far as
// pipes allows (nil: not at all; see PipeBudget). Reset keeps it.
func (r *Reader) SetPipeBudget(pipes *PipeBudget) { r.pipes = pipes }

// Source returns the source r reads from.
func (r *Reader) Source() io.Reader { return r.src }

// Attach gives r the buffer buf; len(buf) is the buffer's capacity. Any previous buffer is dropped.
// It panics if bytes are buffered, since they would be lost.
func (r *Reader) Attach(buf []byte) {
	if r.r != r.w {
		panic("wire: Reader.Attach with buffered bytes")
	}
	r.buf, r.r, r.w = buf, 0, 0
}

// AttachFilled gives r the buffer buf whose first n bytes were already read from the source (by
// a caller that waited for readability itself): they become the buffered bytes. It panics if bytes
// are buffered, or if n is out of range.
func (r *Reader) AttachFilled(buf []byte, n int) {
	if n < 0 || n > len(buf) {
		panic("wire: Reader.AttachFilled with a count outside the buffer")
	}
	r.Attach(buf)
	r.w = n
}

// Detach takes the buffer back, leaving r without one, if no bytes are buffered; it returns nil
// (and keeps the buffer) if some are, or if no buffer is attached.
func (r *Reader) Detach() []byte {
	if r.r != r.w {
		return nil
	}
	buf := r.buf
	r.buf, r.r, r.w = nil, 0, 0
	return buf
}

// Grow moves the buffered bytes to the start of buf and makes buf the buffer (the old one is
// dropped; the caller may reuse it). It panics if len(buf) is smaller than the number of buffered
// bytes.
func (r *Reader) Grow(buf []byte) {
	n := copy(buf, r.buf[r.r:r.w])
	if n < r.w-r.r {
		panic("wire: Reader.Grow with a buffer smaller than the buffered bytes")
	}
	r.buf, r.r, r.w = buf, 0, n
}

// Space returns the free space of the buffer, after moving the buffered bytes to its start: a
// caller that reads from the source itself (as an event loop does) reads into it, then calls
// Filled. It is empty when the buffer is full or none is attached.
func (r *Reader) Space() []byte {
	if r.r > 0 {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	return r.buf[r.w:]
}

// Filled adds the first n bytes of Space, read from the source by the caller, to the buffered
// bytes, and counts them as progress. It panics if n is out of range.
func (r *Reader) Filled(n int) {
	if n < 0 || n > len(r.buf)-r.w {
		panic("wire: Reader.Filled with a count outside the free space")
	}
	r.w += n
	r.progress.add(n)
}

// Buffered returns the unread bytes. The slice is valid until the next Fill, Discard, Grow, Attach
// or Reset.
func (r *Reader) Buffered() []byte { return r.buf[r.r:r.w] }

// Cap returns the capacity of the attached buffer, 0 without one.
func (r *Reader) Cap() int { return len(r.buf) }

// Discard consumes the first n buffered bytes. It panics if fewer are buffered.
func (r *Reader) Discard(n int) {
	if n < 0 || n > r.w-r.r {
		panic("wire: Reader.Discard beyond the buffered bytes")
	}
	r.r += n
	if r.r == r.w {
		r.r, r.w = 0, 0
	}
}

// Fill reads from the source once into the free space of the buffer, after moving the buffered
// bytes to its start, and returns how many bytes it read and the source's error (io.EOF at the
// end). It returns ErrBufferFull, reading nothing, when the buffer has no free space or no buffer
// is attached, and io.ErrNoProgress after maxEmptyReads (100) reads in a row return nothing.
func (r *Reader) Fill() (int, error) {
	if r.r > 0 {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	if r.w == len(r.buf) {
		return 0, ErrBufferFull
	}
	for range maxEmptyReads {
		n, err := r.src.Read(r.buf[r.w:])
		r.w += n
		r.progress.add(n)
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}
