package wire

import (
	"bytes"
	"io"
	"math"
)

// MaxChunkLineSize is the longest chunk-size line (with its extensions) or trailer field line
// CopyChunked and ChunkedReader accept, CRLF included: 4096 bytes. A line must also fit in the
// Reader's buffer.
const MaxChunkLineSize = 4096

// maxChunkSizeDigits is the most hex digits a chunk size may have (64 bits, as net/http allows).
const maxChunkSizeDigits = 16

// CopyChunked relays a chunked body (RFC 9112 §7.1) from r to dst verbatim: every chunk-size line
// with its extensions, the chunk data, the last chunk, the trailer fields and the final CRLF. It
// stops exactly after the body; bytes of the next message stay buffered in r.
//
// It validates what it relays: a chunk size is 1 to 16 hex digits fitting in int64, directly
// followed by ";" (extensions) or CRLF — no sign, no "0x", no whitespace; extensions and trailer
// fields hold no control bytes but HTAB and no bare CR or LF; trailer fields are header fields
// (token name directly followed by a colon); chunk data is followed by CRLF; no line is longer
// than MaxChunkLineSize. A violation is an *Error with Status 400 (a proxy relaying a response
// treats it as the backend's fault).
//
// Whatever is read is written at once, before reading more, so that slow chunks and event streams
// reach dst as they arrive; the chunks buffered together are written in one Write. Chunk data
// larger than the buffer goes from the source to dst directly, with splice(2) when both are
// *net.TCPConn on Linux (the source may be a TCPSource, dst a TCPSink). Errors are as for
// CopyLength.
func CopyChunked(dst io.Writer, r *Reader) (int64, error) {
	c := chunkedCopier{chunkScanner{r: r, dst: dst}}
	err := c.copy()
	if err == nil {
		err = c.flush()
	}
	return c.done, err
}

// chunkScanner validates the framing of one chunked body as it arrives in a Reader's buffer: the
// chunk-size lines, the CRLF after chunk data and the trailer section. CopyChunked and
// ChunkedReader share it; they differ in what becomes of the bytes it validated.
//
// The first pending buffered bytes of r are validated and not yet handed on. Before more is read
// (and at the end) they are handed on: written to dst, or dropped when dst is nil.
type chunkScanner struct {
	r       *Reader
	dst     io.Writer
	pending int
	// done counts the bytes of the body handed on (written, dropped, or read as chunk data by a
	// ChunkedReader) before the pending ones: the offset of the first pending byte in the body.
	done int64
}

// sizeLine validates chunk-size [ chunk-ext ] CRLF and returns the size.
func (c *chunkScanner) sizeLine() (int64, error) {
	line, err := c.line()
	if err != nil {
		return 0, err
	}
	var size int64
	i := 0
	for ; i < len(line) && hexValue[line[i]] != noHex; i++ {
		if i == maxChunkSizeDigits || size > math.MaxInt64>>4 {
			return 0, c.fail("chunk size overflows", i)
		}
		size = size<<4 | int64(hexValue[line[i]])
	}
	switch {
	case i == 0:
		return 0, c.fail("missing chunk size", 0)
	case line[i] == ';':
		i = skipValue(line, i+1)
	}
	if err := c.lineEnd(line, i); err != nil {
		return 0, err
	}
	c.pending += len(line)
	return size, nil
}

// dataEnd validates the CRLF after chunk data.
func (c *chunkScanner) dataEnd() error {
	for len(c.r.Buffered())-c.pending < 2 {
		if err := c.more(); err != nil {
			return err
		}
	}
	if b := c.r.Buffered()[c.pending:]; b[0] != '\r' || b[1] != '\n' {
		return c.fail("chunk data not followed by CRLF", 0)
	}
	c.pending += 2
	return nil
}

// trailer validates the trailer fields and the final CRLF. Each field line, with its CRLF, is
// appended to *keep unless keep is nil; the kept lines may not exceed MaxTrailerSize in all.
func (c *chunkScanner) trailer(keep *[]byte) error {
	for {
		line, err := c.line()
		if err != nil {
			return err
		}
		if line[0] == '\r' {
			if err := c.lineEnd(line, 0); err != nil {
				return err
			}
			c.pending += 2
			return nil
		}
		var f fieldLine
		if err := scanField(line, 0, 400, &f); err != nil {
			if e, ok := err.(*Error); ok {
				return c.fail(e.Reason, e.Offset)
			}
			return c.fail("malformed trailer field", 0)
		}
		if keep != nil {
			if len(*keep)+len(line) > MaxTrailerSize {
				return c.fail("trailer section too large", 0)
			}
			*keep = append(*keep, line...)
		}
		c.pending += len(line)
	}
}

// line returns the line (through its LF) that starts at the first unvalidated byte, reading more
// as needed.
func (c *chunkScanner) line() ([]byte, error) {
	for {
		rest := c.r.Buffered()[c.pending:]
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			if i >= MaxChunkLineSize {
				return nil, c.fail("chunk line too long", MaxChunkLineSize)
			}
			return rest[:i+1], nil
		}
		if len(rest) >= MaxChunkLineSize {
			return nil, c.fail("chunk line too long", MaxChunkLineSize)
		}
		if err := c.more(); err != nil {
			return nil, err
		}
	}
}

// lineEnd checks that line, which ends with LF, ends with CRLF at line[i].
func (c *chunkScanner) lineEnd(line []byte, i int) error {
	if i != len(line)-2 || line[i] != '\r' {
		if line[i] == '\r' || line[i] == '\n' {
			return c.fail("bare CR or LF in chunk line", i)
		}
		return c.fail("invalid byte in chunk line", i)
	}
	return nil
}

// more hands on the validated bytes and reads more.
func (c *chunkScanner) more() error {
	if err := c.flush(); err != nil {
		return err
	}
	n, err := c.r.Fill()
	switch {
	case n > 0:
		return nil
	case err == ErrBufferFull:
		return c.fail("chunk line longer than the buffer", c.r.Cap())
	case err != nil:
		return sourceError(err)
	}
	return nil
}

// flush hands on the validated bytes: it writes them to dst, or drops them without a dst.
func (c *chunkScanner) flush() error {
	if c.pending == 0 {
		return nil
	}
	n, err := c.pending, error(nil)
	if c.dst != nil {
		n, err = write(c.dst, c.r.Buffered()[:c.pending], c.r.progress)
	}
	c.done += int64(n)
	c.r.Discard(c.pending)
	c.pending = 0
	return err
}

// fail returns an *Error for the byte at offset off of the unvalidated bytes; its Offset is the
// byte's offset in the body.
func (c *chunkScanner) fail(reason string, off int) error {
	e := newError(400, reason, c.r.Buffered()[c.pending:], off)
	e.Offset = int(c.done) + c.pending + off
	return e
}

// sourceError is the *ReadError for a source that failed, or ended (io.EOF) inside a body.
func sourceError(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &ReadError{err}
}

// chunkedCopier relays one chunked body: its scanner writes what it validated to dst.
type chunkedCopier struct{ chunkScanner }

// copy validates the body up to its end, writing it out whenever it needs to read more.
func (c *chunkedCopier) copy() error {
	for {
		size, err := c.sizeLine()
		if err != nil {
			return err
		}
		if size == 0 {
			return c.trailer(nil)
		}
		if err := c.data(size); err != nil {
			return err
		}
		if err := c.dataEnd(); err != nil {
			return err
		}
	}
}

// data passes size bytes of chunk data.
func (c *chunkedCopier) data(size int64) error {
	for {
		avail := int64(len(c.r.Buffered()) - c.pending)
		if avail >= size {
			c.pending += int(size)
			return nil
		}
		c.pending += int(avail)
		size -= avail
		if size < int64(c.r.Cap()) {
			if err := c.more(); err != nil {
				return err
			}
			continue
		}
		if err := c.flush(); err != nil {
			return err
		}
		n, err := relay(c.dst, c.r, size, false)
		c.done += n
		return err
	}
}
