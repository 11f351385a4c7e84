package h2

import (
	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/router"
)

// routeSet is a route table with the backends it routes to: what one stream is routed with.
// SetRoutes swaps the whole set at once, so a stream routed with one set keeps its backend.
type routeSet struct {
	table    *router.Table
	backends []*backend // indexed like table.Backends()
	stats    metrics.Table
}

// SetRoutes makes t the route table of every later stream, on new and existing connections;
// streams already routed keep their backend. Backends t keeps keep their connections and the
// protocol found for them; those it drops close their idle connections now, and the transports
// close the others once they are idle for upstream.MaxIdleTime.
func (s *Server) SetRoutes(t *router.Table) {
	s.routes.Store(&routeSet{table: t, backends: s.backends.Use(t.Backends()), stats: s.cfg.Metrics.Table(t)})
}

// routeStats is the accounting of one stream's route and backend; nil entries count nothing.
type routeStats struct {
	route   *metrics.Route
	backend *metrics.Backend
}
