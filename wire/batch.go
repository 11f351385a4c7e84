package wire

import (
	"sync/atomic"
	"syscall"
)

// batchSize is the most a spliced relay of a known length lets queue in its source's socket before
// its wait for the source ends (batcher).
const batchSize = 128 << 10

// batcher lets the bytes of a fast source queue in its socket while a spliced relay of known length
// waits for them. Once one splice from the source has moved batchSize bytes or more, the relay's
// waits end only when min(batchSize, what is left of the body) bytes have come, the source has
// ended, or an error is pending (SO_RCVLOWAT, socket(7)), not at the first segment that arrives. A
// relay whose source sends faster than it drains then wakes and splices a third as often, and
// leaves the cores to the source and the destination meanwhile.
//
// A source that pauses while less than the mark has queued holds those bytes back until it sends
// more or the relay's watcher calls [Progress.Hurry], which lowers the mark and ends the batching
// until a splice moves batchSize again; so a relay batches only when it has a Progress.
type batcher struct {
	rc       syscall.RawConn // the source's
	progress *Progress       // where Hurry finds the batcher while a mark is set
	lowat    int             // the mark in force; 0 for the kernel's default (1 byte)
	broken   bool            // setting the mark failed: the relay goes on without
	hurried  atomic.Bool     // set by hurry, taken by after
}

// after adjusts the mark once a splice has moved moved bytes from the source, with left bytes of
// the body still to come.
func (b *batcher) after(moved int, left int64) {
	want := 0
	switch {
	case b.broken || left <= 0:
	case b.hurried.Swap(false):
	case b.lowat > 0 || moved >= batchSize:
		want = int(min(left, batchSize))
	}
	b.set(want)
}

// set makes n (0: the kernel's default) the mark of the source's socket.
func (b *batcher) set(n int) {
	if n == b.lowat {
		return
	}
	if err := setLowat(b.rc, max(n, 1)); err != nil {
		b.broken, n = true, 0
	}
	b.lowat = n
	if n > 0 {
		b.progress.batch.Store(b)
	} else {
		b.progress.batch.Store(nil)
	}
}

// stop gives the source's socket the kernel's default mark back, before the relay returns it.
func (b *batcher) stop() { b.set(0) }

// hurry ends the wait of the relay for as much as has come. Safe to call from any goroutine, also
// once the relay has ended: the default mark is what the socket then holds anyway.
func (b *batcher) hurry() { b.hurried.Store(true); setLowat(b.rc, 1) }
