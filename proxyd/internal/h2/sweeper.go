package h2

import "time"

// SweepPools sweeps the h2c connections of the server's backends at now, closing those without
// streams for upstream.MaxIdleTime, and ends the stream handlers' goroutines that no stream needed
// since the last sweep. Its owner calls it every upstream.SweepEvery (the engine's sweeper does),
// and sweeps the HTTP/1.1 pools (Config.Pool) itself. The pools of a client connection's own
// backends (--proxy-protocol) are not swept: they serve that connection only, check every
// connection before reuse and close with it.
func (s *Server) SweepPools(now time.Time) {
	s.handlers.Sweep()
	for _, b := range s.backends.All() {
		b.h2c.Sweep(now)
	}
}
