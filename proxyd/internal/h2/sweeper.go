package h2

import "time"

// SweepPools sweeps the HTTP/1.1 connection pools of the server's backends at now: what expired,
// what the backend closed and what a burst left is closed (see upstream.Pool.Sweep). Its owner
// calls it every upstream.SweepEvery (the engine's sweeper does). The pools of a client
// connection's own backends (--proxy-protocol) are not swept: they serve that connection only,
// check every connection before reuse and close with it.
func (s *Server) SweepPools(now time.Time) {
	for _, b := range s.backends.All() {
		b.h1.pool.Sweep(now)
	}
}
