package engine

import (
	"sync/atomic"
	"time"

	"golang.org/x/sys/cpu"

	"proxyd.dev/proxyd/internal/netpoll"
)

// A keep-alive connection waits for its next request on the goroutine that served the previous one
// for up to handoffAfter, so that a request that comes soon is served without a hand-off; then the
// wait moves off it (clientConn.handOff) into the server's idle set, where the connection costs no
// goroutine, only its socket and its state. That goroutine's stack has grown serving the request
// (to 4 KiB or more), so at most maxGoroutineWaits connections wait this way at once, busy ones
// aside: while that many do, a connection whose next request is not there yet is parked at once. A
// busy connection, whose previous wait was over before the sweeper saw it (less than a tick), waits
// on its goroutine whatever the count, and is not counted. A burst of connections that go idle
// after a request thus costs no burst of stacks, while busy keep-alive connections, however many,
// never pay for a hand-off.
const (
	handoffAfter      = time.Second
	maxGoroutineWaits = 256
)

// idleSet holds the connections whose wait for the next request was handed off, with no goroutine
// each, and passes each to clientConn.wake once its client sends something or leaves.
type idleSet = netpoll.Set[*clientConn]

// goroutineWaits counts the waits for a next request that run on their connection's goroutine. The
// zero value counts none. Every core updates it around every such wait, so it has a cache line of
// its own.
type goroutineWaits struct {
	_ cpu.CacheLinePad
	n atomic.Int32
	_ cpu.CacheLinePad
}

// take counts one more wait, unless maxGoroutineWaits run already; it reports whether it did.
func (w *goroutineWaits) take() bool {
	if w.n.Add(1) <= maxGoroutineWaits {
		return true
	}
	w.n.Add(-1)
	return false
}

// give ends a wait that take counted.
func (w *goroutineWaits) give() { w.n.Add(-1) }
