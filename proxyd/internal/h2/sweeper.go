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

// CheckStreams ends, with a 504, the streams whose backend has sent no response head within the
// response-header timeout at now, and parks the connections that have had no stream for
// Config.ParkAfter. Its owner calls it on every tick of its clock (the engine's sweeper does),
// which bounds how late the timeout fires and the connections park.
func (s *Server) CheckStreams(now time.Time) {
	for _, t := range s.active.expiredHeads(now, nil) {
		t.fire()
	}
	if s.idle != nil {
		s.active.askPark(now, now.Add(-s.cfg.ParkAfter))
	}
}
