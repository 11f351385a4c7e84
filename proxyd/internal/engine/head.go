package engine

import (
	"errors"

	"proxyd.dev/wire"
)

// errHeadTooLarge reports a head that did not end within its size limit.
var errHeadTooLarge = errors.New("head larger than the limit")

// readHead fills rd until parse accepts or rejects what it holds. parse is ParseRequestHead or
// ParseResponseHead bound to its destination. A head that has not ended within limit bytes gives
// errHeadTooLarge; the buffer grows to limit when its own size is not enough.
func readHead(rd *wire.Reader, limit int, parse func([]byte) error) error {
	for {
		err := parse(rd.Buffered())
		if !errors.Is(err, wire.ErrIncomplete) {
			return err
		}
		if len(rd.Buffered()) >= limit {
			return errHeadTooLarge
		}
		n, err := rd.Fill()
		if err == nil || n > 0 {
			continue
		}
		if !errors.Is(err, wire.ErrBufferFull) {
			return err
		}
		rd.Grow(make([]byte, limit))
	}
}

// MaxResponseHeadSize is the largest response head accepted from a backend; a larger one is
// answered 502.
const MaxResponseHeadSize = 64 << 10
