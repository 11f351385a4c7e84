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
// "=" is a path, given a backend of its own) and a fuzzed EscapedSlashes (taken modulo 3), routes a
// fuzzed request-target with it, and checks the result against the brute-force reference of the
// README's "Routing" rules (router_reference_test.go): ParseRoute never panics and what it accepts
// prints and parses back to the same route and is no path Match rejects; New compiles any set of
// routes of distinct normal forms and lists them in normal form; Match sends targets without a path
// to the default backend, rejects exactly the targets and paths the reference rejects, and otherwise
// returns the longest route matching the path's normal form, or the default backend, with a Strip
// of the raw bytes that normalise to the route; Rewrite strips those bytes into a path starting with
// "/" with the query kept, rejects exactly the results the reference rejects, and leaves other
// targets alone.
func FuzzRouter(f *testing.F) {
	const spec = "/api=b1.test:80 /api/v2=b2.test:80 /webhook=b3.test:80"
	for _, s := range []struct {
		specs, target string
		slashes       uint8
	}{
		// The routing examples of the README, one per target.
		{spec, "/", 0}, {spec, "/api", 0}, {spec, "/api/users", 0}, {spec, "/api/v2/users", 0},
		{spec, "/webhook/stripe", 0}, {spec, "/other", 0}, {spec, "/api?x=1", 0},
		// Segment boundaries: no match inside a segment, not even before a dot.
		{spec, "/apiary", 0}, {spec, "/api.json", 0},
		// A "*" route is a plain string prefix; it loses to the same path without "*".
		{"/api*=b1.test:80", "/apiary?x=1", 0}, {"/api*=b1.test:80 /api=b2.test:80", "/api", 0},
		// A route ending in "/" takes what is below it but not itself without the slash.
		{"/api/=b1.test:80", "/api", 0}, {"/api/=b1.test:80", "/api/users", 0},
		// The route "/" takes everything; paths given without backends.
		{"/ /a/b", "/a/b/c", 0}, {"/", "/anything?q", 0},
		// Absolute-form targets, scheme in any case, with and without a path.
		{spec, "HTTP://example.com:8080/api/v2/x?y=1", 0}, {"/=b1.test:80", "https://example.com", 0},
		{"/=b1.test:80", "http://example.com?x=1", 0}, {spec, "http://[::1]:80/api", 0},
		// Authorities that are not host[:port]: userinfo, none, a bad port.
		{spec, "http://user@h/api", 0}, {spec, "http:///api", 0}, {spec, "http://h:8x/api", 0},
		// Targets without a path go to the default backend unrewritten; others are rejected.
		{spec, "*", 0}, {spec, "example.com:443", 0}, {spec, "[::1]:443", 0}, {spec, "", 0},
		{spec, "foo", 0}, {spec, "ws://h/api/x", 0}, {spec, "http:/api/x", 0}, {spec, "http//x", 0},
		// Dot segments, literal, encoded in either case, mixed, ended by an encoded slash or
		// backslash, or followed by a path parameter.
		{spec, "/api/../admin", 0}, {spec, "/api/%2e%2E/admin", 0}, {spec, "/api/.%2e", 0},
		{spec, "/api/.", 0}, {spec, "/api/..%2Fadmin", 0}, {spec, "/api/%2E%2f", 0},
		{spec, "/api/..;/admin", 0}, {spec, "/api/%2e%2e;x=1/admin", 0}, {spec, "/api/..%5cadmin", 0},
		// Dots that are not dot segments, and dots in the query, which is not checked.
		{spec, "/api/...;/x", 0}, {spec, "/api/.x/..y", 0}, {spec, "/api?next=/../../etc", 0},
		// An encoded NUL, malformed escapes, backslashes.
		{spec, "/api/%00", 0}, {spec, "/api/%zz", 0}, {spec, "/api/%4", 0}, {spec, `/api\admin`, 0},
		// A fragment, in the path or the query, which no request-target carries.
		{spec, "/api#x", 0}, {spec, "/api?x#y", 0},
		// Spellings of "/api" that backends read as "/api".
		{spec, "/%61pi/x", 0}, {spec, "//api/x", 0}, {spec, "/%61%50%69", 0},
		// An encoded slash: an ordinary byte, refused, or a "/".
		{"/api%2Fv2=b1.test:80 /api=b2.test:80", "/api%2fv2/x", 0},
		{"/api%2Fv2=b1.test:80 /api=b2.test:80", "/api%2Fv2/x", 1},
		{"/api%2Fv2=b1.test:80 /api=b2.test:80", "/api%2Fv2/x", 2},
		// Rewriting with a "*" route must not make a dot segment.
		{"/pre*=b1.test:80", "/pre../admin", 0}, {"/pre*=b1.test:80", "/pre.;/x", 0},
		// Invalid route specs: no slash, a dot segment, a "*" inside, a bad backend, a duplicate, one
		// duplicate in normal form only.
		{"api=b1.test:80 /a/../b=b1.test:80 /a*b=b1.test:80 /a=b1.test /a=b1.test:80 /a=b2.test:80 /%61=b1.test:80", "/a", 0},
	} {
		f.Add(s.specs, s.target, s.slashes)
	}
	f.Fuzz(func(t *testing.T, specs, target string, slashes uint8) {
		opts := router.Options{EscapedSlashes: router.EscapedSlashes(slashes % 3)}
		routes := parseFuzzRoutes(t, specs, opts.EscapedSlashes)
		table, err := router.New(fuzzDefaultBackend, routes, opts)
		if err != nil {
			t.Fatalf("New with the routes %q of distinct normal forms, %+v: %v", routes, opts, err)
		}
		normal := checkTableRoutes(t, table, routes, opts.EscapedSlashes)
		m, err := table.Match([]byte(target))
		_, path, _, form := referenceSplit(target)
		switch {
		case form == formNoPath:
			if err != nil || m != (router.Match{Route: -1}) {
				t.Fatalf("target %q has no path: got %+v, %v; want the default backend", target, m, err)
			}
			checkRewrite(t, target, m)
			return
		case form == formRejected || referenceRejects(path, opts.EscapedSlashes):
			var pe *router.PathError
			if !errors.As(err, &pe) || m != (router.Match{Route: -1}) {
				t.Fatalf("target %q (%s, path %q, %v) must be rejected: got %+v, %v", target, form, path, opts.EscapedSlashes, m, err)
			}
			return
		case err != nil:
			t.Fatalf("path %q of %q is acceptable, Match rejects it: %v", path, target, err)
		}
		checkMatch(t, table, normal, opts.EscapedSlashes, target, path, m)
		checkRewrite(t, target, m)
	})
}

// parseFuzzRoutes parses the whitespace-separated route specs, at most maxFuzzRoutes of them; a
// spec without "=" is a path and gets a backend of its own. It keeps the routes ParseRoute accepts
// whose paths a table reading paths with slashes takes, dropping those whose normal path and "*"
// repeat an earlier one. It fails t when an accepted route does not print and parse back to itself,
// has a path Match would reject, or is one New refuses with slashes although the reference takes it,
// or the other way round.
func parseFuzzRoutes(t *testing.T, specs string, slashes router.EscapedSlashes) []router.Route {
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
		if referenceRejects(r.Path, router.Keep) {
			t.Fatalf("ParseRoute accepts %q, whose path %q no request can match", spec, r.Path)
		}
		_, err = router.New(fuzzDefaultBackend, []router.Route{r}, router.Options{EscapedSlashes: slashes})
		if rejects := referenceRejects(r.Path, slashes); rejects != (err != nil) {
			t.Fatalf("New with %q and %v: %v; the reference rejects the path: %v", r, slashes, err, rejects)
		}
		if k := (key{referenceNormal(r.Path, slashes), r.Prefix}); err == nil && !seen[k] {
			seen[k] = true
			routes = append(routes, r)
		}
	}
	return routes
}

// checkTableRoutes fails t unless table, compiled from routes with slashes, lists each of them once
// with its path in normal form, and returns them so (in the order of routes).
func checkTableRoutes(t *testing.T, table *router.Table, routes []router.Route, slashes router.EscapedSlashes) []router.Route {
	t.Helper()
	normal := make([]router.Route, len(routes))
	listed := map[router.Route]bool{}
	for _, r := range table.Routes() {
		listed[r] = true
	}
	for i, r := range routes {
		normal[i] = r
		normal[i].Path = referenceNormal(r.Path, slashes)
		if !listed[normal[i]] {
			t.Fatalf("route %q is %q in normal form; Routes() has %q", r, normal[i], table.Routes())
		}
	}
	if len(table.Routes()) != len(routes) {
		t.Fatalf("Routes() has %q for the routes %q", table.Routes(), routes)
	}
	return normal
}

// checkMatch fails t unless m, what table (reading paths with slashes) returned for target, whose
// raw path is path, names the route the reference picks from routes (in normal form) for the path's
// normal form, its backend, and how many raw bytes of the path normalise to the route.
func checkMatch(t *testing.T, table *router.Table, routes []router.Route, slashes router.EscapedSlashes, target, path string, m router.Match) {
	t.Helper()
	if path == "" {
		path = "/"
	}
	best := referenceBest(routes, referenceNormal(path, slashes))
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
	if strip := referenceStrip(path, want.Path, slashes); m.Strip != strip {
		t.Fatalf("target %q: route %q strips %d bytes, want %d", target, want, m.Strip, strip)
	}
}

// checkRewrite fails t unless Rewrite of target with m, what Match returned for it, strips m.Strip
// bytes of the path as the reference does, into a path starting with "/" with the query kept, and
// rejects the result when the reference does; or leaves target unchanged for the default backend.
func checkRewrite(t *testing.T, target string, m router.Match) {
	t.Helper()
	got, err := router.Rewrite(nil, []byte(target), m)
	if m.Route < 0 {
		if err != nil || string(got) != target {
			t.Fatalf("Rewrite of %q for the default backend gives %q, %v", target, got, err)
		}
		return
	}
	want, ok := referenceRewrite(target, m.Strip)
	var pe *router.PathError
	switch {
	case !ok:
		if !errors.As(err, &pe) {
			t.Fatalf("Rewrite of %q with %+v gives %q, %v; want a *PathError for %q", target, m, got, err, want)
		}
		return
	case err != nil || string(got) != want:
		t.Fatalf("Rewrite of %q with %+v gives %q, %v; want %q", target, m, got, err, want)
	}
	_, query, _ := strings.Cut(target, "?")
	_, gotQuery, _ := strings.Cut(string(got), "?")
	if path := router.Path(got); len(path) == 0 || path[0] != '/' || gotQuery != query {
		t.Fatalf("Rewrite of %q gives %q: path %q, query %q", target, got, path, gotQuery)
	}
}
