package wire

import (
	"io"
	"math"
)

// CopyLength relays a body of exactly n bytes from r to dst: the buffered bytes first, then
// straight from the source, with splice(2) when both r.Source() and dst are *net.TCPConn on Linux
// (r.Source() may be a TCPSource, dst a TCPSink). Bytes after the body stay buffered in r. Whatever
// is read is written at once. A body that does not fit in the buffer needs r to have one attached,
// unless it is spliced.
//
// It returns the number of bytes written and a *ReadError (the source failed, or ended early:
// io.ErrUnexpectedEOF) or a *WriteError (dst failed). A negative n copies nothing.
func CopyLength(dst io.Writer, r *Reader, n int64) (int64, error) {
	return relay(dst, r, n, false)
}

// CopyUntilEOF relays a body that ends when the source closes (BodyUntilClose), like CopyLength.
// The end of the source is not an error.
func CopyUntilEOF(dst io.Writer, r *Reader) (int64, error) {
	return relay(dst, r, math.MaxInt64, true)
}

// CopyBody relays a body framed as f from r to dst with CopyLength, CopyChunked or CopyUntilEOF;
// for BodyNone it does nothing.
func CopyBody(dst io.Writer, r *Reader, f Framing) (int64, error) {
	switch f.Kind {
	case BodyLength:
		return CopyLength(dst, r, f.Length)
	case BodyChunked:
		return CopyChunked(dst, r)
	case BodyUntilClose:
		return CopyUntilEOF(dst, r)
	}
	return 0, nil
}

// spliceThreshold is the smallest remainder (64 KiB) that relay moves with splice(2) rather than
// through the Reader's buffer: below it, setting up a pipe costs more than the copies it saves.
const spliceThreshold = 64 << 10

// relay copies up to n bytes from r to dst, the buffered bytes first, and reports the source
// ending before that as io.ErrUnexpectedEOF unless toEOF is set. Bytes read beyond n stay
// buffered.
func relay(dst io.Writer, r *Reader, n int64, toEOF bool) (written int64, err error) {
	trySplice := true
	for written < n {
		b := r.Buffered()
		if len(b) == 0 {
			if trySplice && n-written >= spliceThreshold {
				m, handled, err := splice(dst, r.Source(), n-written, !toEOF, r.progress, r.pipes)
				written += m
				if handled {
					return written, endError(err, toEOF)
				}
				trySplice = false
			}
			if _, err := r.Fill(); err != nil && len(r.Buffered()) == 0 {
				return written, endError(&ReadError{err}, toEOF)
			}
			continue
		}
		if int64(len(b)) > n-written {
			b = b[:n-written]
		}
		m, err := write(dst, b, r.progress)
		r.Discard(len(b))
		written += int64(m)
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

// endError maps the error that ended a relay: the end of the source (a *ReadError wrapping io.EOF)
// is no error when relaying until EOF, and io.ErrUnexpectedEOF otherwise.
func endError(err error, toEOF bool) error {
	if re, ok := err.(*ReadError); !ok || re.Err != io.EOF {
		return err
	}
	if toEOF {
		return nil
	}
	return &ReadError{io.ErrUnexpectedEOF}
}

// write writes b to dst, reporting a failure or short write as a *WriteError, and counts the write
// in p.
func write(dst io.Writer, b []byte, p *Progress) (int, error) {
	p.setWriting(true)
	n, err := dst.Write(b)
	p.add(n)
	p.setWriting(false)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return n, &WriteError{err}
	}
	return n, nil
}
