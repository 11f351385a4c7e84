package engine

import (
	"bytes"
	"errors"

	"proxyd.dev/wire"
)

// errHeadTooLarge reports a head that did not end within its size limit.
var errHeadTooLarge = errors.New("head larger than the limit")

// readHead fills rd until parse accepts or rejects what it holds. parse is ParseRequestHead or
// ParseResponseHead bound to its destination. A head that has not ended within limit bytes gives
// errHeadTooLarge; the buffer grows to limit when its own size is not enough.
//
// The parse starts over each time, so it runs again only when a read brought a line end: a head
// dripped in byte by byte costs one parse per line, not one per byte. A malformed line is still
// rejected once it ends.
func readHead(rd *wire.Reader, limit int, parse func([]byte) error) error {
	for {
		// Only the first limit bytes may hold the head, however many one read brought in.
		buf := rd.Buffered()
		err := parse(buf[:min(len(buf), limit)])
		if !errors.Is(err, wire.ErrIncomplete) {
			return err
		}
		for {
			if len(rd.Buffered()) >= limit {
				return errHeadTooLarge
			}
			before := len(rd.Buffered())
			n, err := rd.Fill()
			if n > 0 && bytes.IndexByte(rd.Buffered()[before:], '\n') >= 0 {
				break
			}
			switch {
			case n > 0:
			case errors.Is(err, wire.ErrBufferFull):
				rd.Grow(make([]byte, limit))
			case err != nil:
				return err
			}
		}
	}
}

// MaxResponseHeadSize is the largest response head accepted from a backend; a larger one is
// answered 502.
const MaxResponseHeadSize = 64 << 10
