package router

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Table is a compiled, immutable route table, safe for concurrent use.
type Table struct {
	root     *node    // radix tree over the route paths
	routes   []Route  // in match order
	results  []Match  // the Match of each route, in match order
	backends []string // default backend first, then route backends in first-seen order
	slash    Match    // the Match of the path "/", for absolute-form targets without a path
}

// Match is the result of routing one request-target.
type Match struct {
	// Backend indexes Table.Backends; 0 is the default backend.
	Backend int
	// Route indexes Table.Routes; -1 when no route matched and the default backend was chosen.
	Route int
	// Strip is how many leading bytes of the path Rewrite removes: the route path without a trailing
	// "/" ("/api" and "/api/" both strip 4, "/" strips 0). It is 0 for the default backend.
	Strip int
}

// defaultMatch returns the Match of a request that no route takes.
func defaultMatch() Match {
	return Match{Backend: 0, Route: -1, Strip: 0}
}

// New compiles a route table. defaultBackend and every route's Backend must be canonical (as
// ParseBackend returns them) and every route's Path valid as ParseRoute requires. Two routes with the
// same Path and Prefix are an error naming both.
func New(defaultBackend string, routes []Route) (*Table, error) {
	if err := checkCanonical(defaultBackend); err != nil {
		return nil, fmt.Errorf("default backend: %w", err)
	}
	if err := checkRoutes(routes); err != nil {
		return nil, err
	}
	t := &Table{
		root:     newNode(""),
		routes:   slices.Clone(routes),
		backends: []string{defaultBackend},
	}
	backendIndex := map[string]int{defaultBackend: 0}
	for _, r := range routes {
		if _, seen := backendIndex[r.Backend]; !seen {
			backendIndex[r.Backend] = len(t.backends)
			t.backends = append(t.backends, r.Backend)
		}
	}
	slices.SortFunc(t.routes, matchOrder)
	t.results = make([]Match, len(t.routes))
	for i, r := range t.routes {
		n := t.root.descend(r.Path)
		if r.Prefix {
			n.star = i
		} else {
			n.exact = i
		}
		t.results[i] = Match{Backend: backendIndex[r.Backend], Route: i, Strip: len(strings.TrimSuffix(r.Path, "/"))}
	}
	t.slash = t.matchPath([]byte("/"))
	return t, nil
}

// checkRoutes checks each route and reports the first invalid or duplicate one.
func checkRoutes(routes []Route) error {
	type key struct {
		path   string
		prefix bool
	}
	seen := make(map[key]Route, len(routes))
	for _, r := range routes {
		if err := r.check(); err != nil {
			return err
		}
		k := key{r.Path, r.Prefix}
		if first, dup := seen[k]; dup {
			return fmt.Errorf("duplicate route %q: %q already routes that path", r, first)
		}
		seen[k] = r
	}
	return nil
}

// matchOrder sorts routes longest path first; on equal length the route without "*" first, then by
// path and backend so that the order does not depend on the input's.
func matchOrder(a, b Route) int {
	if c := cmp.Compare(len(b.Path), len(a.Path)); c != 0 {
		return c
	}
	if a.Prefix != b.Prefix {
		if a.Prefix {
			return 1
		}
		return -1
	}
	return cmp.Or(strings.Compare(a.Path, b.Path), strings.Compare(a.Backend, b.Backend))
}

// Backends returns the distinct backends: index 0 is the default backend, then the route backends
// in the order they first appear in the routes given to New. Match.Backend indexes it. The slice is
// a copy.
func (t *Table) Backends() []string {
	return slices.Clone(t.backends)
}

// Routes returns the routes in match order: longest path first, and on equal length the route
// without "*" first. Match.Route indexes it. The slice is a copy.
func (t *Table) Routes() []Route {
	return slices.Clone(t.routes)
}

// Match routes a raw request-target: origin-form ("/a/b?q"), absolute-form ("http://h/a?q", the
// scheme http or https in any case; an empty path is "/"), "*" or authority-form. Only the path
// takes part, byte for byte; targets without a path go to the default backend with no error.
//
// It returns a *PathError, and the default Match, for a path that backends could resolve to another
// one: a dot segment ("." or "..", literal or percent-encoded, also mixed like ".%2e"), an encoded
// NUL ("%00"), or a "%" not followed by two hex digits. The query is not checked. An encoded slash
// ("%2F") is an ordinary byte for matching, but ends a segment for the dot-segment check ("/..%2F").
//
// Match makes one pass over the path to check it and one walk down the route tree; it does not
// allocate unless it returns an error.
func (t *Table) Match(target []byte) (Match, error) {
	start, end, ok := splitTarget(target)
	if !ok {
		return defaultMatch(), nil
	}
	path := target[start:end]
	if offset, reason := checkPath(path); reason != "" {
		return defaultMatch(), newPathError(path, offset, reason)
	}
	if len(path) == 0 {
		return t.slash, nil
	}
	return t.matchPath(path), nil
}

// matchPath returns the Match of a checked, non-empty path.
func (t *Table) matchPath(path []byte) Match {
	if r := t.root.lookup(path); r >= 0 {
		return t.results[r]
	}
	return defaultMatch()
}
