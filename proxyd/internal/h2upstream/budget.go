package h2upstream

import (
	"context"
	"sync/atomic"
)

// WindowBudget is credit the streams of one client share to grow their windows from streamWindow
// up to maxStreamWindow, so that a stream whose client reads as fast as the backend sends is not
// held back by a round trip per window, while a client that reads slowly can make proxyd hold no
// more than streamWindow for each of its streams and its budget in all. A stream that grew gives
// its credit back when its body is closed. Safe for concurrent use.
type WindowBudget struct{ left atomic.Int64 }

// NewWindowBudget returns a budget of n bytes.
func NewWindowBudget(n int64) *WindowBudget {
	b := new(WindowBudget)
	b.left.Store(n)
	return b
}

// take takes up to want bytes of credit and returns how many it took.
func (b *WindowBudget) take(want int64) int64 {
	for {
		left := b.left.Load()
		got := min(want, left)
		if got <= 0 {
			return 0
		}
		if b.left.CompareAndSwap(left, left-got) {
			return got
		}
	}
}

// give gives n bytes of credit back.
func (b *WindowBudget) give(n int64) { b.left.Add(n) }

// budgetKey is the context key of a request's WindowBudget.
type budgetKey struct{}

// WithWindowBudget returns a context whose requests' streams grow their windows with credit from
// b. The streams of a request without one keep streamWindow.
func WithWindowBudget(ctx context.Context, b *WindowBudget) context.Context {
	return context.WithValue(ctx, budgetKey{}, b)
}

// budgetOf returns the WindowBudget of ctx, or nil.
func budgetOf(ctx context.Context) *WindowBudget {
	b, _ := ctx.Value(budgetKey{}).(*WindowBudget)
	return b
}
