package router

import (
	"fmt"
	"testing"
)

// mustTable compiles a table with the default Options from route specs, failing the test on any
// error.
func mustTable(t testing.TB, defaultBackend string, specs ...string) *Table {
	t.Helper()
	return mustTableWith(t, Options{}, defaultBackend, specs...)
}

// mustTableWith compiles a table with opts from route specs, failing the test on any error.
func mustTableWith(t testing.TB, opts Options, defaultBackend string, specs ...string) *Table {
	t.Helper()
	routes := make([]Route, 0, len(specs))
	for _, spec := range specs {
		r, err := ParseRoute(spec)
		if err != nil {
			t.Fatalf("ParseRoute(%q): %v", spec, err)
		}
		routes = append(routes, r)
	}
	tab, err := New(defaultBackend, routes, opts)
	if err != nil {
		t.Fatalf("New(%q, %q, %+v): %v", defaultBackend, specs, opts, err)
	}
	return tab
}

// routeName returns the spec of the route m chose, or "default".
func routeName(tab *Table, m Match) string {
	if m.Route < 0 {
		return "default"
	}
	return tab.Routes()[m.Route].String()
}

// allEscapedSlashes lists every EscapedSlashes value.
func allEscapedSlashes() []EscapedSlashes {
	return []EscapedSlashes{Keep, Reject, Decode}
}

// benchTable returns a table of n routes "/svcI/v1" (I from 0 to n-1), each to its own backend,
// with every tenth route also having "/svcI/v2*".
func benchTable(tb testing.TB, n int) *Table {
	tb.Helper()
	routes := make([]Route, 0, n+n/10)
	for i := range n {
		backend := fmt.Sprintf("10.%d.%d.%d:8080", i>>16&0xff, i>>8&0xff, i&0xff)
		routes = append(routes, Route{Path: fmt.Sprintf("/svc%d/v1", i), Backend: backend})
		if i%10 == 0 {
			routes = append(routes, Route{Path: fmt.Sprintf("/svc%d/v2", i), Prefix: true, Backend: backend})
		}
	}
	tab, err := New("127.0.0.1:9000", routes, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return tab
}
