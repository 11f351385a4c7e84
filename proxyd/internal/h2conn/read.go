package h2conn

import (
	"io"
	"net"

	"proxyd.dev/proxyd/internal/netpoll"
	"proxyd.dev/wire"
)

// pooledReader is a connection that can wait for its next bytes without holding a buffer
// (netpoll.Conn).
type pooledReader interface {
	ReadPooled(bufs netpoll.Buffers) (buf []byte, n int, err error)
}

// readSide holds what was read from the socket and not framed yet. Given buffers to borrow and a
// connection that waits without one, it holds a buffer only while bytes wait in it, so that an
// idle connection holds none; otherwise it keeps one buffer for good. The reader's own.
type readSide struct {
	rd   wire.Reader
	pr   pooledReader    // nil: reads wait with the buffer held
	bufs netpoll.Buffers // nil: the buffer is the reader's own
	// largest is the longest read asked of r since it was last reset: the Framer reads each
	// payload whole into a buffer of its own, which stays as long as the longest of them.
	largest int
}

// init makes r read nc, the bytes in first coming before nc's; it borrows from bufs when nc can
// wait without a buffer.
func (r *readSide) init(nc net.Conn, first []byte, bufs netpoll.Buffers) {
	r.rd.Reset(nc)
	if pr, ok := nc.(pooledReader); ok && bufs != nil {
		r.pr, r.bufs = pr, bufs
	}
	if len(first) == 0 && r.bufs != nil {
		return
	}
	var buf []byte
	if r.bufs != nil {
		if buf = r.bufs.Get(); len(buf) < len(first) {
			r.bufs.Put(buf)
			buf = nil
		}
	}
	if buf == nil {
		// With bufs, it goes to Put once drained like a borrowed one, and is dropped there as
		// longer (netpoll.Buffers).
		buf = make([]byte, max(FrameSize, len(first)))
	}
	r.rd.AttachFilled(buf, copy(buf, first))
}

// Read returns buffered bytes, after reading the socket once when none are; once the buffer is
// empty it goes back to the lender. It is the Framer's source. An empty p reads nothing.
func (r *readSide) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r.largest = max(r.largest, len(p))
	if len(r.rd.Buffered()) == 0 {
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.rd.Buffered())
	r.rd.Discard(n)
	if r.bufs != nil && len(r.rd.Buffered()) == 0 {
		r.bufs.Put(r.rd.Detach())
	}
	return n, nil
}

// fill reads the socket once into the empty buffer or, when none is attached, into a borrowed
// one, waiting for bytes without one.
func (r *readSide) fill() error {
	if r.rd.Cap() > 0 {
		_, err := r.rd.Fill()
		if len(r.rd.Buffered()) > 0 {
			return nil
		}
		return err
	}
	buf, n, err := r.pr.ReadPooled(r.bufs)
	if err != nil {
		return err
	}
	r.rd.AttachFilled(buf, n)
	return nil
}

// buffered returns the bytes read and not framed yet.
func (r *readSide) buffered() []byte { return r.rd.Buffered() }

// AwaitFrame waits, when no byte read is waiting to be framed, until the socket has bytes, and
// reads them (holding no buffer while it waits, as ReadFrame does); with bytes already buffered it
// returns at once. A read deadline or an error that ends the wait leaves the framing as it was:
// no byte of a frame has been read, so the reader may call ReadFrame, or AwaitFrame, again after
// it. An error is that of the read. The reader's own.
func (c *Conn) AwaitFrame() error {
	if len(c.rd.buffered()) > 0 {
		return nil
	}
	return c.rd.fill()
}

// ReadFull reads exactly len(p) bytes that are not framed, such as the client preface before
// the first frame. The reader's own.
func (c *Conn) ReadFull(p []byte) error {
	_, err := io.ReadFull(&c.rd, p)
	return err
}
