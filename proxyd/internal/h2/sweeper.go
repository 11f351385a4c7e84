package h2

import "time"

// SweepPools sweeps the connections of the server's backends at now: in the HTTP/1.1 pools, what
// expired, what the backend closed and what a burst left is closed (see upstream.Pool.Sweep); of
// the h2c clients, the connections without streams for upstream.MaxIdleTime. It also ends the
// stream handlers' goroutines that no stream needed since the last sweep. Its owner calls it every
// upstream.SweepEvery (the engine's sweeper does). The pools of a client connection's own backends
// (--proxy-protocol) are not swept: they serve that connection only, check every connection before
// reuse and close with it.
func (s *Server) SweepPools(now time.Time) {
	s.handlers.Sweep()
	for _, b := range s.backends.All() {
		b.h1.pool.Sweep(now)
		b.h2c.Sweep(now)
	}
}
