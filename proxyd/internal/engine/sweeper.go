package engine

import (
	"time"

	"proxyd.dev/proxyd/internal/upstream"
)

// Bounds of the sweeper's tick: an eighth of the shortest timeout, so that a timeout fires at most
// an eighth late, but no more often than every minTick and at least every maxTick, which bounds
// how late an idle connection is handed off and a client that left a silent stream is noticed.
const (
	minTick = 5 * time.Millisecond
	maxTick = 250 * time.Millisecond
)

// sweepTick returns the sweeper's period for the given timeouts.
func sweepTick(t timeouts) time.Duration {
	shortest := min(t.header, t.idle, t.responseHeader, t.tunnelIdle, lingerTimeout)
	return min(max(shortest/8, minTick), maxTick)
}

// sweeper is the server's one clock. Every tick it applies the timeout rule of each connection's
// current phase (lifetime.check) and ends the HTTP/2 streams whose response head is late
// (h2.Server.CheckStreams), and every upstream.SweepEvery it sweeps the backend pools and the
// workers. It runs in its own goroutine from Serve until Shutdown has seen the last connection end.
type sweeper struct {
	s    *Server
	tick time.Duration
	stop chan struct{} // closed to end the sweeper
	done chan struct{} // closed when it has ended
	// scratch holds the connections of one tick; owned by the sweeper's goroutine.
	scratch []*clientConn
}

// run ticks until stop is closed.
func (w *sweeper) run() {
	defer close(w.done)
	ticker := time.NewTicker(w.tick)
	defer ticker.Stop()
	start := time.Now()
	lastPools := start
	for {
		select {
		case <-w.stop:
			return
		case now := <-ticker.C:
			w.checkConns(now.Sub(start))
			w.s.h2.CheckStreams(now)
			if now.Sub(lastPools) >= upstream.SweepEvery {
				for _, p := range w.s.routes.Load().pools {
					p.Sweep(now)
				}
				w.s.h2.SweepPools(now)
				w.s.workers.Sweep()
				lastPools = now
			}
		}
	}
}

// checkConns applies every connection's timeout rule at now on the sweeper's clock: the time since
// it started. Lifetimes keep the times they saw on that clock, which takes a third of the room of
// a time.Time.
func (w *sweeper) checkConns(now time.Duration) {
	w.scratch = w.s.snapshot(w.scratch[:0])
	for _, c := range w.scratch {
		c.life.check(now, &w.s.limits)
	}
	clear(w.scratch)
}
