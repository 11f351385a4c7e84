package router

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// modelMatch is the routing rule written plainly: it scans every route and returns the index (in
// match order) of the longest one that matches path, preferring the route without "*" on equal
// length; -1 when none does.
func modelMatch(routes []Route, path string) int {
	best := -1
	for i, r := range routes {
		matches := strings.HasPrefix(path, r.Path) && (r.Prefix || len(path) == len(r.Path) ||
			strings.HasSuffix(r.Path, "/") || path[len(r.Path)] == '/')
		if !matches {
			continue
		}
		if best < 0 || len(r.Path) > len(routes[best].Path) ||
			len(r.Path) == len(routes[best].Path) && routes[best].Prefix && !r.Prefix {
			best = i
		}
	}
	return best
}

// randomPath returns "/" followed by up to maxLen bytes from alphabet.
func randomPath(rng *rand.Rand, alphabet string, maxLen int) string {
	var b strings.Builder
	b.WriteByte('/')
	for range rng.IntN(maxLen + 1) {
		b.WriteByte(alphabet[rng.IntN(len(alphabet))])
	}
	return b.String()
}

func TestMatchAgreesWithModel(t *testing.T) {
	tests := []struct {
		name       string
		alphabet   string // bytes of the random paths after the leading "/"
		maxRoutes  int
		routeLen   int
		requestLen int
	}{
		// A small alphabet: routes and paths share many prefixes and labels split often.
		{"narrow", "ab/", 30, 6, 9},
		// A wide alphabet: nodes get more children than narrowNode.
		{"wide", "abcdefghijklmnopqrstuvwxyz0123456789-_/", 400, 3, 5},
	}
	const (
		tables        = 200
		pathsPerTable = 200
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			for range tables {
				checkAgainstModel(t, randomRoutes(rng, tt.alphabet, tt.maxRoutes, tt.routeLen), func() string {
					return randomPath(rng, tt.alphabet, tt.requestLen)
				}, pathsPerTable)
			}
		})
	}
}

// randomRoutes returns up to n distinct random routes with paths up to maxLen bytes after the "/".
func randomRoutes(rng *rand.Rand, alphabet string, n, maxLen int) []Route {
	backends := []string{"b0:1", "b1:1", "b2:1"}
	seen := map[Route]bool{}
	var routes []Route
	for range rng.IntN(n) {
		r := Route{Path: randomPath(rng, alphabet, maxLen), Prefix: rng.IntN(3) == 0, Backend: backends[rng.IntN(len(backends))]}
		key := Route{Path: r.Path, Prefix: r.Prefix}
		if !seen[key] {
			seen[key] = true
			routes = append(routes, r)
		}
	}
	return routes
}

// checkAgainstModel compiles routes and checks Match and Rewrite against modelMatch for n paths.
func checkAgainstModel(t *testing.T, routes []Route, nextPath func() string, n int) {
	t.Helper()
	tab, err := New("d:1", routes)
	if err != nil {
		t.Fatalf("New(%v): %v", routes, err)
	}
	ordered := tab.Routes()
	for range n {
		path := nextPath()
		m, err := tab.Match([]byte(path + "?q"))
		if err != nil {
			t.Fatalf("Match(%q): %v", path, err)
		}
		if want := modelMatch(ordered, path); m.Route != want {
			t.Fatalf("routes %v: Match(%q).Route = %d, model says %d", ordered, path, m.Route, want)
		}
		checkMatchConsistent(t, tab, m)
		want := path + "?q"
		if m.Route >= 0 {
			want = "/" + strings.TrimPrefix(path[m.Strip:], "/") + "?q"
		}
		if got := string(Rewrite(nil, []byte(path+"?q"), m)); got != want {
			t.Fatalf("Rewrite(%q) = %q, want %q", path, got, want)
		}
	}
}
