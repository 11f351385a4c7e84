package wire

import "sync/atomic"

// PipeBudget bounds how far the splices that share it may grow their pipes, all together, beyond
// the kernel's default pipe size (16 pages on Linux: 64 KiB with 4 KiB pages). A large body is
// spliced through a pipe grown to up to 1 MiB, which moves it in a sixteenth of the splice(2)
// calls; but an unprivileged process's pipes count against a limit per user
// (/proc/sys/fs/pipe-user-pages-soft, 64 MiB by default), past which the kernel gives every new
// pipe of the user only 8 KiB. Unbounded, 64 large bodies in flight would reach it. A splice that
// finds the budget spent keeps the default size.
//
// A nil *PipeBudget grants nothing: pipes keep the default size. A PipeBudget is safe for
// concurrent use.
type PipeBudget struct {
	limit int64
	used  atomic.Int64
}

// NewPipeBudget returns a budget of bytes of pipe capacity beyond the default size.
func NewPipeBudget(bytes int64) *PipeBudget { return &PipeBudget{limit: bytes} }

// Used returns the bytes of the budget that pipes hold now.
func (b *PipeBudget) Used() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// take reserves n bytes of the budget and reports whether it could.
func (b *PipeBudget) take(n int64) bool {
	if b == nil {
		return false
	}
	if b.used.Add(n) > b.limit {
		b.used.Add(-n)
		return false
	}
	return true
}

// give returns n bytes that take reserved.
func (b *PipeBudget) give(n int64) {
	if b != nil && n > 0 {
		b.used.Add(-n)
	}
}
