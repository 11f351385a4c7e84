// Package routetest builds route tables for tests from the PATH=BACKEND specs of the command line.
package routetest

import (
	"testing"

	"proxyd.dev/router"
)

// Table compiles a route table with the default options: def is the default backend, each spec is
// PATH=BACKEND. A spec or table the router refuses fails the test.
func Table(t testing.TB, def string, specs ...string) *router.Table {
	t.Helper()
	routes := make([]router.Route, 0, len(specs))
	for _, spec := range specs {
		r, err := router.ParseRoute(spec)
		if err != nil {
			t.Fatalf("route %q: %v", spec, err)
		}
		routes = append(routes, r)
	}
	table, err := router.New(def, routes, router.Options{})
	if err != nil {
		t.Fatalf("route table: %v", err)
	}
	return table
}
