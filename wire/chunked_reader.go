package wire

import "io"

// MaxTrailerSize is the largest trailer section, its field lines with their CRLFs, that a
// ChunkedReader keeps: 64 KiB, the size proxyd allows a response head. CopyChunked keeps nothing
// and relays trailer sections of any size.
const MaxTrailerSize = 64 << 10

// ChunkedReader decodes a chunked body (RFC 9112 §7.1) read through a Reader: Read returns the
// chunk data, and io.EOF once the last chunk, the trailer section and the final CRLF have been
// read; Trailer then returns the trailer fields. It stops exactly after the body, so bytes of the
// next message stay buffered in the Reader.
//
// It validates the framing as CopyChunked does, with the same *Error (Status 400) for a violation,
// and also refuses a trailer section larger than MaxTrailerSize. A source that fails, or ends
// before the body does, gives a *ReadError (io.ErrUnexpectedEOF for the early end). An error, like
// io.EOF, is returned again by every later Read.
//
// Read returns what one read of the source brought, without waiting for more, so that slow chunks
// and event streams reach the caller as they arrive. Chunk data that is not buffered and at least
// as large as the Reader's buffer is read from the source straight into the caller's slice.
//
// A ChunkedReader is not safe for concurrent use.
type ChunkedReader struct {
	s chunkScanner // without a dst: the framing it validated is dropped
	// left is how many bytes of the current chunk's data are still to be read; 0 between chunks.
	left int64
	// inChunk is set from a chunk-size line to the CRLF after the chunk's data.
	inChunk bool
	trailer []byte // the trailer section's field lines, each with its CRLF
	err     error  // io.EOF after the body, or the error that ended it
}

// NewChunkedReader returns a ChunkedReader of the chunked body that starts at the first byte r
// holds or reads next.
func NewChunkedReader(r *Reader) *ChunkedReader {
	return &ChunkedReader{s: chunkScanner{r: r}}
}

// Read reads chunk data into p.
func (c *ChunkedReader) Read(p []byte) (int, error) {
	if c.left == 0 && c.err == nil {
		c.err = c.nextChunk(&c.trailer)
	}
	if c.err != nil {
		return 0, c.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := c.data(p[:min(int64(len(p)), c.left)])
	c.left -= int64(n)
	c.s.done += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}

// Trailer returns the fields of the trailer section, once Read has returned io.EOF; before that,
// and for a body without trailer fields, the FieldIter has no fields. Names and values point into
// memory the ChunkedReader owns.
func (c *ChunkedReader) Trailer() FieldIter {
	if c.err != io.EOF {
		return FieldIter{}
	}
	return FieldIter{head: c.trailer}
}

// nextChunk validates the framing up to the data of the next chunk, which sets left; after the
// last chunk it validates the trailer section, whose field lines it appends to *keep unless keep
// is nil, and returns io.EOF. The framing is dropped from the buffer as it is validated.
func (c *ChunkedReader) nextChunk(keep *[]byte) error {
	if c.inChunk {
		if err := c.s.dataEnd(); err != nil {
			return err
		}
		c.inChunk = false
	}
	size, err := c.s.sizeLine()
	if err == nil && size == 0 {
		err = c.s.trailer(keep)
	}
	if err == nil {
		err = c.s.flush()
	}
	if err != nil {
		return err
	}
	if size == 0 {
		return io.EOF
	}
	c.left, c.inChunk = size, true
	return nil
}

// data reads chunk data into p, no more than the chunk has left: the buffered bytes if there are
// any, else one read of the source.
func (c *ChunkedReader) data(p []byte) (int, error) {
	r := c.s.r
	if len(r.Buffered()) == 0 {
		if c.left >= int64(r.Cap()) {
			return r.readSource(p)
		}
		if err := c.s.more(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.Buffered())
	r.Discard(n)
	return n, nil
}

// readSource reads from the source once, straight into p, past the buffer, which must hold no
// bytes. It counts what it read as progress and reports a failing source, or its end (as
// io.ErrUnexpectedEOF), as a *ReadError; bytes read come without an error, which the next read
// reports again.
func (r *Reader) readSource(p []byte) (int, error) {
	n, err := r.src.Read(p)
	r.progress.add(n)
	if n > 0 || err == nil {
		return n, nil
	}
	return 0, sourceError(err)
}

// CopyDechunked relays the data of a chunked body from r to dst without the chunked framing: the
// chunk data alone, with no chunk-size lines, extensions, trailer fields or final CRLF. It is for
// a recipient that does not read the chunked coding, an HTTP/1.0 client (RFC 9112 §6.1), which
// then takes the body's end from the connection's close. It stops exactly after the body; bytes of
// the next message stay buffered in r.
//
// It validates the framing as CopyChunked does, with the same errors, and trailer sections of any
// size pass (unwritten). It returns the number of data bytes written. Whatever is read is written
// at once; chunk data larger than the buffer goes from the source to dst as CopyLength moves it.
func CopyDechunked(dst io.Writer, r *Reader) (int64, error) {
	c := ChunkedReader{s: chunkScanner{r: r}}
	var written int64
	for {
		if err := c.nextChunk(nil); err != nil {
			if err == io.EOF {
				err = nil
			}
			return written, err
		}
		n, err := relay(dst, r, c.left, false)
		written += n
		c.s.done += n
		if err != nil {
			return written, err
		}
	}
}
