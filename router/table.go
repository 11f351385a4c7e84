package router

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Table is a compiled, immutable route table, safe for concurrent use.
type Table struct {
	root     *node          // radix tree over the normal forms of the route paths
	routes   []Route        // in match order, paths in normal form
	results  []Match        // the Match of each route, in match order, for a path in normal form
	backends []string       // default backend first, then route backends in first-seen order
	slash    Match          // the Match of the path "/", for absolute-form targets without a path
	slashes  EscapedSlashes // what "%2F" in a request path means (Options.EscapedSlashes)
}

// Match is the result of routing one request-target.
type Match struct {
	// Backend indexes Table.Backends; 0 is the default backend.
	Backend int
	// Route indexes Table.Routes; -1 when no route matched and the default backend was chosen.
	Route int
	// Strip is how many leading bytes of the raw path Rewrite removes: those whose normal form is the
	// route path without a trailing "/". With the route "/api" (or "/api/"), "/api/x" strips 4,
	// "//api/x" 5 and "/%61pi/x" 6; "/" strips 0. It is 0 for the default backend.
	Strip int
}

// defaultMatch returns the Match of a request that no route takes.
func defaultMatch() Match {
	return Match{Backend: 0, Route: -1, Strip: 0}
}

// New compiles a route table. defaultBackend and every route's Backend must be canonical (as
// ParseBackend returns them) and every route's Path valid as ParseRoute requires; with
// opts.EscapedSlashes Reject, a path must not contain "%2F" either. Route paths are normalised here as
// request paths are (see the package doc; with Decode, "%2F" becomes "/"), and the table matches on
// the normal forms: two routes whose normal paths and "*" agree ("/api" and "/%61pi") are an error
// naming both.
func New(defaultBackend string, routes []Route, opts Options) (*Table, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := checkCanonical(defaultBackend); err != nil {
		return nil, fmt.Errorf("default backend: %w", err)
	}
	normal, err := normalRoutes(routes, opts.EscapedSlashes)
	if err != nil {
		return nil, err
	}
	t := &Table{
		root:     newNode(""),
		routes:   normal,
		backends: []string{defaultBackend},
		slashes:  opts.EscapedSlashes,
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
	t.slash = t.matchPath([]byte("/"), true)
	return t, nil
}

// normalRoutes checks each route, returns a copy with the paths in normal form, and reports the first
// invalid route or the first whose normal path and "*" repeat another's.
func normalRoutes(routes []Route, slashes EscapedSlashes) ([]Route, error) {
	type key struct {
		path   string
		prefix bool
	}
	seen := make(map[key]Route, len(routes))
	normal := make([]Route, len(routes))
	for i, r := range routes {
		if err := r.check(slashes); err != nil {
			return nil, err
		}
		normal[i] = r
		normal[i].Path = normalPath(r.Path, slashes)
		k := key{normal[i].Path, r.Prefix}
		if first, dup := seen[k]; dup {
			return nil, fmt.Errorf("duplicate route %q: %q already routes that path (%q in normal form)", r, first, k.path)
		}
		seen[k] = r
	}
	return normal, nil
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

// Routes returns the routes in match order, each path in the normal form the table matches on:
// longest path first, and on equal length the route without "*" first. Match.Route indexes it. The
// slice is a copy.
func (t *Table) Routes() []Route {
	return slices.Clone(t.routes)
}

// Match routes a raw request-target: origin-form ("/a/b?q"), absolute-form ("http://h/a?q", the
// scheme http or https in any case; an empty path is "/"), asterisk-form ("*") or authority-form
// ("host:port"); the last two go to the default backend with no error. Only the path takes part, in
// its normal form: "%61" is "a", "%2f" is "%2F", "//" is "/", and "%2F" is what the table's
// EscapedSlashes says (see the package doc). The query is neither normalised nor checked.
//
// It returns a *PathError, and the default Match, for a path that backends could resolve to another
// one: a dot segment ("." or "..", literal or percent-encoded, also mixed like ".%2e", also followed
// by ";" or "%3B"; segments end at "/", "%2F", "\" and "%5C" for this check), an encoded NUL ("%00"),
// a "%" not followed by two hex digits, a "\" or a "%5C", and with EscapedSlashes Reject any "%2F".
// It rejects as well a target with a "#", an absolute-form target of another scheme ("ws://h/x") and
// a target in none of the forms above ("foo", "http:/x").
//
// Match makes one pass over the path to check it, which also tells whether the path is already in
// normal form, and one walk down the route tree; a path not in normal form is normalised on the way,
// a window at a time on the stack. It does not allocate unless it returns an error.
func (t *Table) Match(target []byte) (Match, error) {
	start, end, err := splitTarget(target)
	if err != nil || start < 0 {
		return defaultMatch(), err
	}
	path := target[start:end]
	offset, reason, normal := checkPath(path, t.slashes)
	if reason != "" {
		return defaultMatch(), newPathError(path, offset, reason)
	}
	if len(path) == 0 {
		return t.slash, nil
	}
	return t.matchPath(path, normal), nil
}

// matchPath returns the Match of a checked, non-empty path; normal says it is in normal form.
func (t *Table) matchPath(path []byte, normal bool) Match {
	if normal {
		return t.result(t.root.lookup(path, nil))
	}
	s := pathStream{z: normalizer{raw: path, decodeSlash: t.slashes == Decode}}
	m := t.result(t.root.lookup(s.next(), &s))
	m.Strip = rawLen(path, m.Strip, t.slashes)
	return m
}

// result returns the Match of route r (in match order), or the default Match for -1.
func (t *Table) result(r int) Match {
	if r < 0 {
		return defaultMatch()
	}
	return t.results[r]
}
