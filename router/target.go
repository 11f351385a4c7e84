package router

import "bytes"

// Path returns the path part of a request-target, without the query: "/a/b" for the origin-form
// "/a/b?q", "/a" for the absolute-form "http://h:8080/a?q" (the scheme, http or https, in any case),
// and an empty slice for "http://h", whose path Match treats as "/". It returns nil for targets that
// have no path: "*", authority-form ("example.com:443"), anything else, and an empty target. The
// result aliases target.
func Path(target []byte) []byte {
	start, end, ok := splitTarget(target)
	if !ok {
		return nil
	}
	return target[start:end]
}

// splitTarget finds the path of a request-target: target[start:end]. ok is false for targets
// without a path.
func splitTarget(target []byte) (start, end int, ok bool) {
	if len(target) == 0 {
		return 0, 0, false
	}
	if target[0] != '/' {
		n := schemeLen(target)
		if n == 0 {
			return 0, 0, false
		}
		start = n + orLen(bytes.IndexAny(target[n:], "/?"), target[n:])
	}
	end = start + orLen(bytes.IndexByte(target[start:], '?'), target[start:])
	return start, end, true
}

// schemeLen returns the length of a leading "http://" or "https://" (in any case), or 0.
func schemeLen(target []byte) int {
	for _, scheme := range [...]string{"http://", "https://"} {
		if hasPrefixFold(target, scheme) {
			return len(scheme)
		}
	}
	return 0
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case; prefix is lower case.
func hasPrefixFold(s []byte, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// orLen returns i, the result of an index search in s, or len(s) when i is -1 (not found).
func orLen(i int, s []byte) int {
	if i < 0 {
		return len(s)
	}
	return i
}
