package fuzz

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"proxyd.dev/router"
)

// The brute-force reference of the README's "Routing" rules that FuzzRouter checks the route table
// against. It favours plainness over speed: a path is cut into units (a byte, or "%" and the two bytes
// after it) and each rule is a loop over units or segments; every route is tried in turn.

// Forms of request-target (RFC 9112 §3.2), as referenceSplit tells them apart.
const (
	formPath     = "path"     // origin-form or absolute-form of http(s): routed by its path
	formNoPath   = "no path"  // asterisk-form or authority-form: the default backend, no error
	formRejected = "rejected" // a "#", another scheme, a malformed target, an authority not host[:port]
)

// Characters of RFC 3986 §2: hex digits, unreserved characters, and those a reg-name may hold.
const (
	referenceHex   = "0123456789abcdefABCDEF"
	unreservedSet  = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"
	hostByteChars  = unreservedSet + "!$&'()*+,;="
	referenceAlpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

// referenceSplit splits a request-target into the part before its path, its path (without the query)
// and the rest, and names its form. Origin-form targets start with their path; absolute-form targets
// ("http://" or "https://", in any case) have it after the authority, which ends at the first "/" or
// "?" and must be host[:port], and an empty path there stands for "/". "*" and "host:port" have no
// path; anything else, another scheme included, is rejected, and so is every target with a "#" (no
// form has a fragment).
func referenceSplit(target string) (before, path, after, form string) {
	switch {
	case strings.Contains(target, "#"):
		return "", "", "", formRejected
	case strings.HasPrefix(target, "/"):
	case target == "*" || referenceHostPort(target, true):
		return "", "", "", formNoPath
	default:
		scheme, rest, ok := strings.Cut(target, ":")
		if !ok || !referenceScheme(scheme) {
			return "", "", "", formRejected
		}
		lower := strings.ToLower(scheme)
		if lower != "http" && lower != "https" || !strings.HasPrefix(rest, "//") {
			return "", "", "", formRejected
		}
		authority := len(scheme) + len("://")
		for authority < len(target) && target[authority] != '/' && target[authority] != '?' {
			authority++
		}
		if !referenceHostPort(target[len(scheme)+len("://"):authority], false) {
			return "", "", "", formRejected
		}
		before, target = target[:authority], target[authority:]
	}
	path, query, hasQuery := strings.Cut(target, "?")
	if hasQuery {
		after = "?" + query
	}
	return before, path, after, formPath
}

// referenceScheme reports whether s is a scheme (RFC 3986 §3.1): a letter, then letters, digits,
// "+", "-" and ".".
func referenceScheme(s string) bool {
	if s == "" || !strings.Contains(referenceAlpha, s[:1]) {
		return false
	}
	return strings.Trim(s, referenceAlpha+"0123456789+-.") == ""
}

// referenceHostPort reports whether s is host [":" port]: a port of digits after the last ":"
// outside brackets (needPort: one at least), and a non-empty host that is reg-name characters and
// escapes, or the same and ":" inside brackets.
func referenceHostPort(s string, needPort bool) bool {
	host, allowed := s, hostByteChars
	if colon := strings.LastIndex(s, ":"); colon >= 0 && !strings.Contains(s[colon:], "]") {
		host = s[:colon]
		if port := s[colon+1:]; strings.Trim(port, "0123456789") != "" || needPort && port == "" {
			return false
		}
	} else if needPort {
		return false
	}
	if host == "" {
		return false
	}
	if strings.HasPrefix(host, "[") {
		if len(host) < 3 || !strings.HasSuffix(host, "]") {
			return false
		}
		host, allowed = host[1:len(host)-1], hostByteChars+":"
	}
	units, ok := referenceUnits(host)
	if !ok {
		return false
	}
	for _, u := range units {
		if len(u) == 1 && !strings.Contains(allowed, u) {
			return false
		}
	}
	return true
}

// referenceUnits cuts s into units: "%" with the two bytes after it, or a single byte. ok is false
// when a "%" is not followed by two hex digits.
func referenceUnits(s string) (units []string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			units = append(units, s[i:i+1])
			continue
		}
		if i+2 >= len(s) || !strings.ContainsRune(referenceHex, rune(s[i+1])) || !strings.ContainsRune(referenceHex, rune(s[i+2])) {
			return nil, false
		}
		units = append(units, strings.ToUpper(s[i:i+3]))
		i += 2
	}
	return units, true
}

// referenceRejects reports whether Match, with slashes, must reject path: a bad escape; "%00"; a "\"
// or "%5C"; with Reject, "%2F"; or a dot segment: cutting the units at "/", "%2F" and "%5C" into
// segments, and each segment at its first ";" or "%3B", a part before it of one or two dots, each
// "." or "%2E".
func referenceRejects(path string, slashes router.EscapedSlashes) bool {
	units, ok := referenceUnits(path)
	if !ok || slices.Contains(units, "%00") || slices.Contains(units, `\`) || slices.Contains(units, "%5C") ||
		slashes == router.Reject && slices.Contains(units, "%2F") {
		return true
	}
	var segment []string
	for _, u := range append(units, "/") {
		if u != "/" && u != "%2F" {
			segment = append(segment, u)
			continue
		}
		if param := slices.IndexFunc(segment, func(u string) bool { return u == ";" || u == "%3B" }); param >= 0 {
			segment = segment[:param]
		}
		if len(segment) > 0 && len(segment) <= 2 && !slices.ContainsFunc(segment, func(u string) bool { return u != "." && u != "%2E" }) {
			return true
		}
		segment = nil
	}
	return false
}

// referenceNormal returns the normal form of path, which referenceRejects accepts: each escape of
// an unreserved character decoded, "%2F" too with Decode, every other escape in upper case, and each
// run of "/" one "/".
func referenceNormal(path string, slashes router.EscapedSlashes) string {
	units, _ := referenceUnits(path)
	var out []string
	for _, u := range units {
		if len(u) == 3 {
			v, _ := strconv.ParseUint(u[1:], 16, 8)
			if c := string(rune(v)); v < 128 && strings.Contains(unreservedSet, c) || c == "/" && slashes == router.Decode {
				u = c
			}
		}
		if u == "/" && len(out) > 0 && out[len(out)-1] == "/" {
			continue
		}
		out = append(out, u)
	}
	return strings.Join(out, "")
}

// referenceStrip returns how many leading bytes of path Rewrite removes for a route whose normal
// path is routePath: the fewest whose normal form is routePath without its trailing "/".
func referenceStrip(path, routePath string, slashes router.EscapedSlashes) int {
	want := strings.TrimSuffix(routePath, "/")
	for k := range len(path) + 1 {
		if _, ok := referenceUnits(path[:k]); !ok {
			continue
		}
		switch normal := referenceNormal(path[:k], slashes); {
		case normal == want:
			return k
		case len(normal) > len(want):
			panic(fmt.Sprintf("%q normalises past %q at byte %d", path, want, k))
		}
	}
	panic(fmt.Sprintf("no prefix of %q normalises to %q", path, want))
}

// referenceMatches reports whether route r, its path in normal form, takes path, in normal form: a
// "*" route is a plain string prefix; a route ending in "/" takes itself and everything below; any
// other route takes itself and, on a segment boundary, everything below.
func referenceMatches(r router.Route, path string) bool {
	switch {
	case r.Prefix, strings.HasSuffix(r.Path, "/"):
		return strings.HasPrefix(path, r.Path)
	}
	return path == r.Path || strings.HasPrefix(path, r.Path+"/")
}

// referenceBest returns the index in routes of the route that takes path: the longest one that
// matches, the route without "*" on equal length (an exact match is always the longest). It returns
// -1 when no route matches.
func referenceBest(routes []router.Route, path string) int {
	best := -1
	for i, r := range routes {
		if !referenceMatches(r, path) {
			continue
		}
		if best < 0 || len(r.Path) > len(routes[best].Path) || len(r.Path) == len(routes[best].Path) && !r.Prefix {
			best = i
		}
	}
	return best
}

// referenceRewrite returns target with the first strip bytes of its path removed, the rest behind a
// "/" unless it starts with one, and the parts before and after the path kept. ok is false when the
// new path is one Match rejects.
func referenceRewrite(target string, strip int) (string, bool) {
	before, path, after, _ := referenceSplit(target)
	rest := path[strip:]
	if !strings.HasPrefix(rest, "/") {
		rest = "/" + rest
	}
	return before + rest + after, !referenceRejects(rest, router.Keep)
}
