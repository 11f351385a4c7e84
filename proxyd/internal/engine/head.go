package engine

import (
	"errors"

	"proxyd.dev/wire"
)

// errHeadTooLarge reports a head that did not end within its size limit.
var errHeadTooLarge = errors.New("head larger than the limit")

// readHead fills rd until parse accepts or rejects what it holds. parse is the Parse method of a
// wire.RequestParser or wire.ResponseParser, reset before the head, bound to its destination: it
// resumes where it stopped, so a head dripped in line by line (or byte by byte) costs time linear in
// its size, and a malformed byte is rejected as soon as it arrives. A head that has not ended within
// limit bytes gives errHeadTooLarge; the buffer grows to limit when its own size is not enough.
func readHead(rd *wire.Reader, limit int, parse func([]byte) error) error {
	for {
		// Only the first limit bytes may hold the head, however many one read brought in.
		buf := rd.Buffered()
		err := parse(buf[:min(len(buf), limit)])
		if !errors.Is(err, wire.ErrIncomplete) {
			return err
		}
		if len(buf) >= limit {
			return errHeadTooLarge
		}
		n, err := rd.Fill()
		switch {
		case n > 0:
		case errors.Is(err, wire.ErrBufferFull):
			rd.Grow(make([]byte, limit))
		case err != nil:
			return err
		}
	}
}

// MaxResponseHeadSize is the largest response head accepted from a backend; a larger one is
// answered 502.
const MaxResponseHeadSize = 64 << 10
