package metrics

import "proxyd.dev/router"

// Table is the accounting of one route table, resolved when the table is built.
type Table struct {
	// Routes holds each route's accounting indexed by router.Match.Route+1: the default
	// backend's first.
	Routes []*Route
	// Backends holds each backend's accounting indexed like router.Table.Backends.
	Backends []*Backend
}

// Table resolves the accounting of every route and backend of t. Route labels are the routes'
// patterns (router.Route.Pattern): paths in the normal form the table matches on, with the "*" of a
// plain prefix route. On a nil *Metrics every entry is nil, and accounting through them does
// nothing.
func (m *Metrics) Table(t *router.Table) Table {
	routes, backends := t.Routes(), t.Backends()
	st := Table{Routes: make([]*Route, len(routes)+1), Backends: make([]*Backend, len(backends))}
	if m == nil {
		return st
	}
	st.Routes[0] = m.Route(DefaultRoute)
	for i, r := range routes {
		st.Routes[i+1] = m.Route(r.Pattern())
	}
	for i, addr := range backends {
		st.Backends[i] = m.Backend(addr)
	}
	return st
}
