package fuzz

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"proxyd.dev/router"
)

// maxFuzzRoutes bounds how many route specs FuzzRouter takes from one input: 64.
const maxFuzzRoutes = 64

// fuzzDefaultBackend is the default backend of every table FuzzRouter builds.
const fuzzDefaultBackend = "default.test:80"

// FuzzRouter builds a route table from fuzzed route specs (whitespace-separated; a spec without
// "=" is a path, given a backend of its own) and routes a fuzzed request-target with it, checking
// against the brute-force reference of SPEC §3 (router_reference_test.go): ParseRoute never panics
// and what it accepts prints and parses back to the same route and is no path Match rejects; New
// compiles any set of distinct routes; Match rejects exactly the paths with a dot segment (literal
// or %2e-encoded, any case), an encoded NUL or a bad escape, and otherwise returns the longest
// matching route, or the default backend; Rewrite yields the target with the route's prefix
// stripped, whose path starts with "/" and whose query is kept, and leaves other targets alone.
func FuzzRouter(f *testing.F) {
	const spec = "/api=b1.test:80 /api/v2=b2.test:80 /webhook=b3.test:80"
	for _, s := range []struct{ specs, target string }{
		// The routing examples of SPEC §3, one per target.
		{spec, "/"}, {spec, "/api"}, {spec, "/api/users"}, {spec, "/api/v2/users"},
		{spec, "/webhook/stripe"}, {spec, "/other"}, {spec, "/api?x=1"},
		// Segment boundaries: no match inside a segment, not even before a dot.
		{spec, "/apiary"}, {spec, "/api.json"},
		// A "*" route is a plain string prefix; it loses to the same path without "*".
		{"/api*=b1.test:80", "/apiary?x=1"}, {"/api*=b1.test:80 /api=b2.test:80", "/api"},
		// A route ending in "/" takes what is below it but not itself without the slash.
		{"/api/=b1.test:80", "/api"}, {"/api/=b1.test:80", "/api/users"},
		// The route "/" takes everything; paths given without backends.
		{"/ /a/b", "/a/b/c"}, {"/", "/anything?q"},
		// Absolute-form targets, scheme in any case, with and without a path.
		{spec, "HTTP://example.com:8080/api/v2/x?y=1"}, {"/=b1.test:80", "https://example.com"},
		{"/=b1.test:80", "http://example.com?x=1"},
		// Targets without a path go to the default backend unrewritten.
		{spec, "*"}, {spec, "example.com:443"}, {spec, ""},
		// Dot segments, literal, encoded in either case, mixed, and ended by an encoded slash.
		{spec, "/api/../admin"}, {spec, "/api/%2e%2E/admin"}, {spec, "/api/.%2e"},
		{spec, "/api/."}, {spec, "/api/..%2Fadmin"}, {spec, "/api/%2E%2f"},
		// Dots that are not dot segments, and dots in the query, which is not checked.
		{spec, "/api/...;/x"}, {spec, "/api/.x/..y"}, {spec, "/api?next=/../../etc"},
		// An encoded NUL and malformed escapes.
		{spec, "/api/%00"}, {spec, "/api/%zz"}, {spec, "/api/%4"},
		// An encoded slash is an ordinary byte for matching.
		{"/api%2Fv2=b1.test:80 /api=b2.test:80", "/api%2Fv2/x"},
		// Invalid route specs: no slash, a dot segment, a "*" inside, a bad backend, a duplicate.
		{"api=b1.test:80 /a/../b=b1.test:80 /a*b=b1.test:80 /a=b1.test /a=b1.test:80 /a=b2.test:80", "/a"},
	} {
		f.Add(s.specs, s.target)
	}
	f.Fuzz(func(t *testing.T, specs, target string) {
		routes := parseFuzzRoutes(t, specs)
		table, err := router.New(fuzzDefaultBackend, routes)
		if err != nil {
			t.Fatalf("New with the distinct routes %q: %v", routes, err)
		}
		m, err := table.Match([]byte(target))
		_, path, _, hasPath := referenceSplit(target)
		switch {
		case !hasPath:
			if err != nil || m != (router.Match{Route: -1}) {
				t.Fatalf("target %q has no path: got %+v, %v; want the default backend", target, m, err)
			}
			checkRewrite(t, table, target, m)
			return
		case referenceRejects(path):
			var pe *router.PathError
			if !errors.As(err, &pe) || m != (router.Match{Route: -1}) {
				t.Fatalf("path %q of %q must be rejected: got %+v, %v", path, target, m, err)
			}
			return
		case err != nil:
			t.Fatalf("path %q of %q is acceptable, Match rejects it: %v", path, target, err)
		}
		if path == "" {
			path = "/"
		}
		checkMatch(t, table, routes, target, path, m)
		checkRewrite(t, table, target, m)
	})
}

// parseFuzzRoutes parses the whitespace-separated route specs, at most maxFuzzRoutes of them; a
// spec without "=" is a path and gets a backend of its own. It keeps the routes ParseRoute accepts
// and drops those whose path and "*" repeat an earlier one. It fails t when an accepted route does
// not print and parse back to itself, or has a path Match would reject.
func parseFuzzRoutes(t *testing.T, specs string) []router.Route {
	t.Helper()
	type key struct {
		path   string
		prefix bool
	}
	seen := map[key]bool{}
	var routes []router.Route
	for i, spec := range strings.Fields(specs) {
		if i == maxFuzzRoutes {
			break
		}
		if !strings.Contains(spec, "=") {
			spec = fmt.Sprintf("%s=backend-%d.test:80", spec, i)
		}
		r, err := router.ParseRoute(spec)
		if err != nil {
			continue
		}
		if again, err := router.ParseRoute(r.String()); err != nil || again != r {
			t.Fatalf("route %+v from %q prints as %q, which parses to %+v, %v", r, spec, r, again, err)
		}
		if referenceRejects(r.Path) {
			t.Fatalf("ParseRoute accepts %q, whose path %q no request can match", spec, r.Path)
		}
		if k := (key{r.Path, r.Prefix}); !seen[k] {
			seen[k] = true
			routes = append(routes, r)
		}
	}
	return routes
}

// checkMatch fails t unless m, what table returned for target, whose path is path, names the route
// the reference picks from routes, its backend and how much of the path it strips.
func checkMatch(t *testing.T, table *router.Table, routes []router.Route, target, path string, m router.Match) {
	t.Helper()
	best := referenceBest(routes, path)
	if best < 0 {
		if m != (router.Match{Route: -1}) {
			t.Fatalf("target %q matches no route of %q, yet Match gives %+v", target, routes, m)
		}
		return
	}
	want := routes[best]
	if m.Route < 0 || m.Route >= len(table.Routes()) {
		t.Fatalf("target %q: Match gives %+v, the reference route %q", target, m, want)
	}
	if got := table.Routes()[m.Route]; got != want {
		t.Fatalf("target %q with routes %q: Match picks %q, the reference %q", target, routes, got, want)
	}
	if got := table.Backends()[m.Backend]; got != want.Backend {
		t.Fatalf("target %q: route %q, but backend %q", target, want, got)
	}
	if strip := len(strings.TrimSuffix(want.Path, "/")); m.Strip != strip {
		t.Fatalf("target %q: route %q strips %d bytes, want %d", target, want, m.Strip, strip)
	}
}

// checkRewrite fails t unless Rewrite of target with m, what table returned for it, strips the
// matched route's prefix as the reference does, into a path starting with "/" with the query
// kept, or leaves target unchanged for the default backend.
func checkRewrite(t *testing.T, table *router.Table, target string, m router.Match) {
	t.Helper()
	got := string(router.Rewrite(nil, []byte(target), m))
	if m.Route < 0 {
		if got != target {
			t.Fatalf("Rewrite of %q for the default backend gives %q", target, got)
		}
		return
	}
	if want := referenceRewrite(target, table.Routes()[m.Route]); got != want {
		t.Fatalf("Rewrite of %q with route %q gives %q, want %q", target, table.Routes()[m.Route], got, want)
	}
	_, query, _ := strings.Cut(target, "?")
	_, gotQuery, _ := strings.Cut(got, "?")
	if path := router.Path([]byte(got)); len(path) == 0 || path[0] != '/' || gotQuery != query {
		t.Fatalf("Rewrite of %q gives %q: path %q, query %q", target, got, path, gotQuery)
	}
}
