package wire

import "sync/atomic"

// Progress reports how a relay advances, for a goroutine that watches it from outside and decides
// when it has stalled (a progress timeout): how many bytes it has moved, and whether it is waiting
// for its destination to take bytes. Give one to a Reader with [Reader.SetProgress]: Fill counts
// what it reads, and the relays of this package ([CopyLength], [CopyChunked], [CopyUntilEOF], the
// splice path included) count what they read and write through that Reader.
//
// The zero value is ready to use. Its methods are safe for concurrent use; a nil *Progress counts
// nothing.
type Progress struct {
	moved   atomic.Int64            // bytes read from the source plus bytes written to the destination
	writing atomic.Bool             // a write to the destination is under way
	batch   atomic.Pointer[batcher] // the splice relay's, while it lets its source's bytes queue
}

// Moved returns how many bytes the relay has read and written so far, counting each byte once
// when read and once when written. Only its changes mean anything.
func (p *Progress) Moved() int64 { return p.moved.Load() }

// Writing reports whether the relay is inside a write to its destination: a Moved that does not
// change meanwhile means the destination takes no bytes.
func (p *Progress) Writing() bool { return p.writing.Load() }

// add counts n bytes moved.
func (p *Progress) add(n int) {
	if p != nil && n > 0 {
		p.moved.Add(int64(n))
	}
}

// Hurry makes a relay that waits for its source go on with what has come so far. A relay that
// splices a body of known length from a fast source lets the source's bytes queue in its socket
// while it waits, up to 128 KiB (less near the body's end), so that it wakes less often; should the
// source then pause, the bytes that have come wait for more, or for Hurry. So whoever watches p
// calls Hurry when Moved has not changed for a while, as it would look for a stall. Hurry does
// nothing when no relay waits so.
func (p *Progress) Hurry() {
	if p == nil {
		return
	}
	if b := p.batch.Load(); b != nil {
		b.hurry()
	}
}

// setWriting marks the start (true) or the end (false) of a write to the destination.
func (p *Progress) setWriting(on bool) {
	if p != nil {
		p.writing.Store(on)
	}
}
