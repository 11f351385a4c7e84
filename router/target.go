package router

import "bytes"

// Path returns the path part of a request-target, without the query: "/a/b" for the origin-form
// "/a/b?q", "/a" for the absolute-form "http://h:8080/a?q" (the scheme, http or https, in any case),
// and an empty slice for "http://h", whose path Match treats as "/". It returns nil for targets that
// have no path ("*", authority-form "example.com:443") and for those Match rejects as a whole (a "#",
// another scheme, a malformed target, an empty one). The path is raw, as sent; the result aliases target.
func Path(target []byte) []byte {
	start, end, err := splitTarget(target)
	if err != nil || start < 0 {
		return nil
	}
	return target[start:end]
}

// splitTarget finds the path of a request-target in the forms of RFC 9112 §3.2: target[start:end].
// start is -1, with no error, for asterisk-form ("*") and authority-form ("host:port"), which have no
// path. The error is a *PathError for a "#" anywhere (ReasonFragment), for an absolute-form target
// whose scheme is not http or https (ReasonScheme), for a backslash in the authority of one
// (ReasonBackslash) or an authority that is not host[:port] (ReasonAuthority), and for a target in
// none of the forms (ReasonMalformedTarget).
func splitTarget(target []byte) (start, end int, err error) {
	if k := bytes.IndexByte(target, '#'); k >= 0 {
		return -1, -1, newPathError(target, k, ReasonFragment)
	}
	switch {
	case len(target) > 0 && target[0] == '/': // origin-form
	case string(target) == "*" || isAuthorityForm(target):
		return -1, -1, nil
	default: // absolute-form, or nothing
		authority, reason := hierStart(target)
		if reason != "" {
			return -1, -1, newPathError(target, 0, reason)
		}
		start = authority + orLen(bytes.IndexAny(target[authority:], "/?"), target[authority:])
		if k := bytes.IndexByte(target[authority:start], '\\'); k >= 0 {
			return -1, -1, newPathError(target, authority+k, ReasonBackslash)
		}
		if !isHostPort(target[authority:start], false) {
			return -1, -1, newPathError(target, authority, ReasonAuthority)
		}
	}
	end = start + orLen(bytes.IndexByte(target[start:], '?'), target[start:])
	return start, end, nil
}

// orLen returns i, the result of an index search in s, or len(s) when i is -1 (not found).
func orLen(i int, s []byte) int {
	if i < 0 {
		return len(s)
	}
	return i
}
