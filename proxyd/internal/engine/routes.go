package engine

import (
	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/router"
)

// routeSet is a route table with the pools of its backends: what one request is routed with.
// SetRoutes swaps the whole set at once, so a request routed with one set keeps its backend.
type routeSet struct {
	table *router.Table
	pools []*upstream.Pool // indexed like table.Backends()
	stats metrics.Table
}

// SetRoutes makes t the route table of every later request, on new and existing connections (HTTP/2
// streams too); requests already routed keep their backend. Backends t keeps keep their idle
// connections; the pools of backends it drops close their idle connections now and each busy one
// when its exchange ends.
func (s *Server) SetRoutes(t *router.Table) {
	s.setRoutes(t)
	s.h2.SetRoutes(t)
}

func (s *Server) setRoutes(t *router.Table) {
	s.routes.Store(&routeSet{table: t, pools: s.backends.Use(t.Backends()), stats: s.cfg.Metrics.Table(t)})
}
