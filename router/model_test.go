package router

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The routing rules written plainly, for the randomized comparisons: every route is tried in turn,
// and the path is decoded with string replacements.

// modelUnreserved holds the unreserved characters of RFC 3986 §2.3.
const modelUnreserved = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"

// modelRejects reports whether Match rejects path read with slashes: a malformed escape or "%00"; a
// "\" or "%5C"; with Reject, a "%2F"; else, with "%2e" decoded to ".", "%2F" and "%5C" to "/", and
// "%3B" to ";", any segment that is "." or ".." up to its first ";".
func modelRejects(path string, slashes EscapedSlashes) bool {
	const hex = "0123456789abcdefABCDEF"
	for i := 0; i < len(path); i++ {
		if path[i] != '%' {
			continue
		}
		if i+2 >= len(path) || !strings.ContainsRune(hex, rune(path[i+1])) || !strings.ContainsRune(hex, rune(path[i+2])) ||
			path[i+1:i+3] == "00" {
			return true
		}
	}
	// Every "%" now starts a valid escape, so replacing "%XY" cannot split another escape.
	lower := strings.ToLower(path)
	if strings.Contains(lower, `\`) || strings.Contains(lower, "%5c") || slashes == Reject && strings.Contains(lower, "%2f") {
		return true
	}
	decoded := strings.NewReplacer("%2e", ".", "%2f", "/", "%3b", ";").Replace(lower)
	for seg := range strings.SplitSeq(decoded, "/") {
		if seg, _, _ = strings.Cut(seg, ";"); seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// modelNormal returns the normal form of path, which modelRejects accepts: escapes of unreserved
// characters decoded, other escapes in upper case ("%2F" decoded to "/" with Decode), then "//"
// replaced by "/" until none is left.
func modelNormal(path string, slashes EscapedSlashes) string {
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		if path[i] != '%' {
			b.WriteByte(path[i])
			continue
		}
		hex := path[i+1 : i+3]
		v, _ := strconv.ParseUint(hex, 16, 8)
		if c := byte(v); strings.IndexByte(modelUnreserved, c) >= 0 || c == '/' && slashes == Decode {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex))
		}
		i += 2
	}
	s := b.String()
	for strings.Contains(s, "//") {
		s = strings.ReplaceAll(s, "//", "/")
	}
	return s
}

// modelStrip returns the length of the shortest leading part of path whose normal form is prefix.
func modelStrip(path, prefix string, slashes EscapedSlashes) int {
	for k := range len(path) + 1 {
		if !modelRejects(path[:k], Keep) && modelNormal(path[:k], slashes) == prefix {
			return k
		}
	}
	return -1
}

// modelMatch returns the index (in match order) of the longest route that matches path, in normal
// form, preferring the route without "*" on equal length; -1 when none does.
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

// modelRewrite returns target, whose path is path, with the first strip bytes of path removed and
// a "/" put in front of the rest unless it starts with one; ok is false when that path is rejected.
func modelRewrite(path, query string, strip int) (string, bool) {
	rest := path[strip:]
	if !strings.HasPrefix(rest, "/") {
		rest = "/" + rest
	}
	return rest + query, !modelRejects(rest, Keep)
}

// randomPath returns "/" followed by up to maxTokens tokens.
func randomPath(rng *rand.Rand, tokens []string, maxTokens int) string {
	var b strings.Builder
	b.WriteByte('/')
	for range rng.IntN(maxTokens + 1) {
		b.WriteString(tokens[rng.IntN(len(tokens))])
	}
	return b.String()
}

// escapeTokens returns the spellings whose normal form or check differs from their bytes.
func escapeTokens() []string {
	return []string{"%61", "%2f", "%2F", "//", ";", `\`, "%5C", "%2e", "%2E", ".", "..", "%3b", "%c3%A9"}
}

func TestMatchAgreesWithModel(t *testing.T) {
	var wide []string
	for _, c := range "abcdefghijklmnopqrstuvwxyz0123456789-_/" {
		wide = append(wide, string(c))
	}
	tests := []struct {
		name        string
		tokens      []string // what the random paths are made of after the leading "/"
		maxRoutes   int
		routeTokens int
		pathTokens  int
	}{
		// A small alphabet: routes and paths share many prefixes and labels split often.
		{"narrow", append([]string{"a", "b", "/"}, escapeTokens()...), 30, 4, 7},
		// A wide alphabet: nodes get more children than narrowNode.
		{"wide", append(wide, escapeTokens()...), 400, 3, 5},
		// Long paths, normalised more than one stream window at a time.
		{"long", []string{"a", "/", "//", "%61", "%2f", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}, 30, 12, 16},
	}
	const (
		tables        = 200
		pathsPerTable = 200
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range tables {
				slashes := allEscapedSlashes()[i%3]
				routes := randomRoutes(rng, tt.tokens, tt.maxRoutes, tt.routeTokens, slashes)
				checkAgainstModel(t, routes, Options{EscapedSlashes: slashes}, func() string {
					return randomPath(rng, tt.tokens, tt.pathTokens)
				}, pathsPerTable)
			}
		})
	}
}

// randomRoutes returns up to n random routes with paths of up to maxTokens tokens after the "/",
// which a table reading paths with slashes accepts, of distinct normal forms.
func randomRoutes(rng *rand.Rand, tokens []string, n, maxTokens int, slashes EscapedSlashes) []Route {
	backends := []string{"b0:1", "b1:1", "b2:1"}
	type key struct {
		path   string
		prefix bool
	}
	seen := map[key]bool{}
	var routes []Route
	for range rng.IntN(n) {
		r := Route{Path: randomPath(rng, tokens, maxTokens), Prefix: rng.IntN(3) == 0, Backend: backends[rng.IntN(len(backends))]}
		if modelRejects(r.Path, slashes) {
			continue
		}
		if k := (key{modelNormal(r.Path, slashes), r.Prefix}); !seen[k] {
			seen[k] = true
			routes = append(routes, r)
		}
	}
	return routes
}

// checkAgainstModel compiles routes with opts and checks Match and Rewrite against the model for n
// paths.
func checkAgainstModel(t *testing.T, routes []Route, opts Options, nextPath func() string, n int) {
	t.Helper()
	slashes := opts.EscapedSlashes
	tab, err := New("d:1", routes, opts)
	if err != nil {
		t.Fatalf("New(%v, %+v): %v", routes, opts, err)
	}
	ordered := tab.Routes()
	for _, r := range ordered {
		if !slices.ContainsFunc(routes, func(given Route) bool {
			return modelNormal(given.Path, slashes) == r.Path && given.Prefix == r.Prefix && given.Backend == r.Backend
		}) {
			t.Fatalf("Routes() has %v, the normal form of none of %v", r, routes)
		}
	}
	for range n {
		path := nextPath()
		target := path + "?q=/../%5C"
		m, err := tab.Match([]byte(target))
		if rejects := modelRejects(path, slashes); rejects || err != nil {
			if !rejects || err == nil || m != defaultMatch() {
				t.Fatalf("%v: Match(%q) = %+v, %v; model rejects: %v", slashes, target, m, err, rejects)
			}
			continue
		}
		normal := modelNormal(path, slashes)
		want := modelMatch(ordered, normal)
		if m.Route != want {
			t.Fatalf("%v routes %v: Match(%q).Route = %d, model says %d for %q", slashes, ordered, path, m.Route, want, normal)
		}
		checkMatchConsistent(t, tab, path, m)
		got, err := Rewrite(nil, []byte(target), m)
		wantRewrite, ok := target, true
		if m.Route >= 0 {
			wantRewrite, ok = modelRewrite(path, target[len(path):], m.Strip)
		}
		if ok != (err == nil) || ok && string(got) != wantRewrite {
			t.Fatalf("Rewrite(%q, %+v) = %q, %v; want %q (ok %v)", target, m, got, err, wantRewrite, ok)
		}
	}
}
