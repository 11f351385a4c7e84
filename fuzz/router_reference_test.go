package fuzz

import (
	"strings"

	"proxyd.dev/router"
)

// The brute-force reference of SPEC §3 that FuzzRouter checks the route table against. It favours
// plainness over speed: every route is tried in turn.

// referenceSplit splits a request-target into the part before its path, its path (without the
// query) and the rest: origin-form targets start with their path; absolute-form targets
// ("http://" or "https://", in any case) have their path after the authority, which ends at the
// first "/" or "?", and an empty path there stands for "/". ok is false for targets without a path
// ("*", authority-form, anything else).
func referenceSplit(target string) (before, path, after string, ok bool) {
	if !strings.HasPrefix(target, "/") {
		lower := asciiLower(target[:min(len(target), len("https://"))])
		scheme := ""
		for _, s := range []string{"http://", "https://"} {
			if strings.HasPrefix(lower, s) {
				scheme = s
			}
		}
		if scheme == "" {
			return "", "", "", false
		}
		authority := len(scheme)
		for authority < len(target) && target[authority] != '/' && target[authority] != '?' {
			authority++
		}
		before, target = target[:authority], target[authority:]
	}
	path, query, hasQuery := strings.Cut(target, "?")
	if hasQuery {
		after = "?" + query
	}
	return before, path, after, true
}

// referenceRejects reports whether Match must reject path: it has a "%" not followed by two hex
// digits, an encoded NUL, or a dot segment ("." or "..", each dot literal or "%2e" in any case),
// where segments end at "/" and at an encoded slash ("%2f" in any case).
func referenceRejects(path string) bool {
	for i := 0; i < len(path); i++ {
		if path[i] != '%' {
			continue
		}
		if i+2 >= len(path) || !isHexDigit(path[i+1]) || !isHexDigit(path[i+2]) || path[i+1:i+3] == "00" {
			return true
		}
	}
	// Every "%" now starts a valid escape, so "%2e" and "%2f" cannot overlap another escape.
	lower := asciiLower(path)
	for seg := range strings.SplitSeq(strings.ReplaceAll(lower, "%2f", "/"), "/") {
		if seg = strings.ReplaceAll(seg, "%2e", "."); seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// referenceMatches reports whether route r takes path under SPEC §3: a "*" route is a plain string
// prefix; a route ending in "/" takes itself and everything below; any other route takes itself
// and, on a segment boundary, everything below.
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

// referenceRewrite returns target with the matched route's path stripped from its path under
// SPEC §3: the route path without its trailing "/" is removed, the result starts with "/", and the
// parts before and after the path are kept.
func referenceRewrite(target string, r router.Route) string {
	before, path, after, _ := referenceSplit(target)
	rest := path[min(len(strings.TrimSuffix(r.Path, "/")), len(path)):]
	if !strings.HasPrefix(rest, "/") {
		rest = "/" + rest
	}
	return before + rest + after
}

// isHexDigit reports whether c is a hexadecimal digit.
func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// asciiLower returns s with ASCII upper-case letters in lower case and every other byte unchanged.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
