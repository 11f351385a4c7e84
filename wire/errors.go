package wire

import (
	"errors"
	"fmt"
)

// ErrIncomplete is returned by the head parsers when the buffer holds the valid beginning of a
// head but not its end: read more bytes and parse again.
var ErrIncomplete = errors.New("wire: head incomplete")

// excerptRadius is how many bytes on each side of the offending byte an [Error] quotes.
const excerptRadius = 16

// Error is a malformed message. Status is the answer a proxy gives for it:
//   - 400 Bad Request: a malformed request head or chunked body;
//   - 431 Request Header Fields Too Large: never produced by this package (the caller enforces its
//     head size limit), listed so that callers can use Error for it too;
//   - 501 Not Implemented: a request whose Transfer-Encoding lists only known codings but is not
//     exactly "chunked";
//   - 505 HTTP Version Not Supported: a well-formed request version other than HTTP/1.0 and HTTP/1.1;
//   - 502 Bad Gateway: a malformed response head.
type Error struct {
	Status  int    // HTTP status a proxy answers with
	Reason  string // what is wrong, e.g. "whitespace before colon in header name"
	Offset  int    // offset of the offending byte in the head (in the body for CopyChunked)
	Excerpt string // the bytes around Offset, at most 2*excerptRadius+1 of them
}

// newError returns an *Error for the byte at buf[off] (off may be len(buf) for a problem at the end).
func newError(status int, reason string, buf []byte, off int) *Error {
	lo, hi := max(off-excerptRadius, 0), min(off+excerptRadius+1, len(buf))
	return &Error{Status: status, Reason: reason, Offset: off, Excerpt: string(buf[lo:hi])}
}

// Error returns e.g. `wire: 400: whitespace before colon in header name at byte 17: "...Encoding :..."`.
func (e *Error) Error() string {
	return fmt.Sprintf("wire: %d: %s at byte %d: %q", e.Status, e.Reason, e.Offset, e.Excerpt)
}

// ReadError is a body relay failure of the source: it failed, or it ended before the body did
// (Err is then io.ErrUnexpectedEOF). A proxy relaying a response treats it as the backend's fault.
type ReadError struct{ Err error }

// Error returns "wire: read: " and the cause.
func (e *ReadError) Error() string { return "wire: read: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ReadError) Unwrap() error { return e.Err }

// WriteError is a body relay failure of the destination: a proxy relaying a response treats it as
// the client having gone away.
type WriteError struct{ Err error }

// Error returns "wire: write: " and the cause.
func (e *WriteError) Error() string { return "wire: write: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *WriteError) Unwrap() error { return e.Err }
