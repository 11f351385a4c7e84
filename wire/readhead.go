package wire

import "errors"

// ErrHeadTooLarge reports a head that did not end within the size limit given to ReadHead.
var ErrHeadTooLarge = errors.New("wire: head larger than the limit")

// ReadHead fills r until parse accepts or rejects what it holds, and returns parse's verdict: nil
// for a complete head, its error for a malformed one. parse is the Parse method of a RequestParser
// or ResponseParser, reset before the head and bound to its destination: it resumes where it
// stopped, so a head dripped in line by line (or byte by byte) costs time linear in its size, and
// a malformed byte is rejected as soon as it arrives. A head that has not ended within limit bytes
// gives ErrHeadTooLarge; the buffer grows to limit when its own size is not enough. A read that
// fails before the head ends gives the read's error (io.EOF when the peer closed).
func ReadHead(r *Reader, limit int, parse func([]byte) error) error {
	for {
		err := ParseHead(r, limit, parse)
		if !errors.Is(err, ErrIncomplete) {
			return err
		}
		n, err := r.Fill()
		switch {
		case n > 0:
		case errors.Is(err, ErrBufferFull):
			r.Grow(make([]byte, limit))
		case err != nil:
			return err
		}
	}
}

// ParseHead is ReadHead without a read, for a caller that may not wait for more bytes: it passes
// parse what r holds and returns parse's verdict, ErrIncomplete when the head goes on past what r
// holds, or ErrHeadTooLarge when it has not ended within limit bytes.
func ParseHead(r *Reader, limit int, parse func([]byte) error) error {
	// Only the first limit bytes may hold the head, however many one read brought in.
	buf := r.Buffered()
	err := parse(buf[:min(len(buf), limit)])
	if errors.Is(err, ErrIncomplete) && len(buf) >= limit {
		return ErrHeadTooLarge
	}
	return err
}
