package h2

import (
	"sync"
	"time"

	"proxyd.dev/proxyd/internal/backendset"
	"proxyd.dev/proxyd/internal/upstream"
)

// poolSweeper sweeps the HTTP/1.1 connection pools of the server's backends every
// upstream.SweepEvery, on a goroutine of its own that runs from New until Wait: what expired, what
// the backend closed and what a burst left is closed (see upstream.Pool.Sweep). The pools of a
// client connection's own backends (--proxy-protocol) are not swept: they serve that connection
// only, check every connection before reuse and close with it.
type poolSweeper struct {
	backends *backendset.Set[*backend]
	quit     chan struct{} // closed to end the sweeper
	done     chan struct{} // closed when it has ended
	once     sync.Once     // closes quit
}

// newPoolSweeper returns a sweeper of the pools of backends; run starts it.
func newPoolSweeper(backends *backendset.Set[*backend]) *poolSweeper {
	return &poolSweeper{backends: backends, quit: make(chan struct{}), done: make(chan struct{})}
}

// run sweeps until stop.
func (w *poolSweeper) run() {
	defer close(w.done)
	ticker := time.NewTicker(upstream.SweepEvery)
	defer ticker.Stop()
	for {
		select {
		case <-w.quit:
			return
		case now := <-ticker.C:
			for _, b := range w.backends.All() {
				b.h1.pool.Sweep(now)
			}
		}
	}
}

// stop ends the sweeper and waits for it; later calls return at once.
func (w *poolSweeper) stop() {
	w.once.Do(func() { close(w.quit) })
	<-w.done
}
