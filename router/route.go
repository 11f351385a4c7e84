package router

import (
	"fmt"
	"strings"
)

// Route is one routing rule, written PATH=BACKEND.
type Route struct {
	// Path is the path as written, without a trailing "*": "/api", "/api/", "/". Table.Routes gives it
	// in the normal form the table matches on (see New).
	Path string
	// Prefix is true when the path was written with a trailing "*": then Path is a plain string
	// prefix, not bound to segment boundaries.
	Prefix bool
	// Backend is the canonical "host:port" (see ParseBackend).
	Backend string
}

// Pattern returns the route's PATH as it is written: Path, with a trailing "*" when Prefix ("/api",
// "/static*"). For a route of Table.Routes, Path is in normal form, and so is Pattern.
func (r Route) Pattern() string {
	if r.Prefix {
		return r.Path + "*"
	}
	return r.Path
}

// String returns the route as it is written: "PATH=BACKEND", that is Pattern()+"="+Backend.
func (r Route) String() string {
	return r.Pattern() + "=" + r.Backend
}

// ParseRoute parses "PATH=BACKEND". The spec is split at its last "=", so PATH may contain "=".
// PATH starts with "/" and may end with "*" (a plain string prefix, see Route). It must not contain
// "?", "#", whitespace or control bytes, a "*" other than the last byte, or anything Match rejects in
// a request path (dot segments, "%00", a bad escape, "\", "%5C"), since no request could match it.
// PATH is kept as written: New matches on its normal form, so "/%61pi" and "//api" route as "/api".
// BACKEND is checked by ParseBackend. The error names the spec, path or backend at fault.
func ParseRoute(spec string) (Route, error) {
	eq := strings.LastIndexByte(spec, '=')
	if eq < 0 {
		return Route{}, fmt.Errorf("route %q: missing \"=\" (want PATH=BACKEND)", spec)
	}
	r := Route{Path: spec[:eq]}
	r.Path, r.Prefix = strings.CutSuffix(r.Path, "*")
	if err := checkRoutePath(r.Path, Keep); err != nil {
		return Route{}, err
	}
	backend, err := ParseBackend(spec[eq+1:])
	if err != nil {
		return Route{}, err
	}
	r.Backend = backend
	return r, nil
}

// check reports why r cannot go into a Table whose paths are read with slashes: a path ParseRoute
// would refuse (or one with "%2F" when slashes is Reject), or a backend that is not canonical.
func (r Route) check(slashes EscapedSlashes) error {
	if err := checkRoutePath(r.Path, slashes); err != nil {
		return fmt.Errorf("route %q: %w", r, err)
	}
	if err := checkCanonical(r.Backend); err != nil {
		return fmt.Errorf("route %q: %w", r, err)
	}
	return nil
}

// checkRoutePath reports why path (without its "*") cannot be a route path of a Table whose paths
// are read with slashes.
func checkRoutePath(path string, slashes EscapedSlashes) error {
	if path == "" {
		return fmt.Errorf("route path %q: empty (want a path starting with \"/\")", path)
	}
	if path[0] != '/' {
		return fmt.Errorf("route path %q: must start with \"/\"", path)
	}
	for i, c := range path {
		switch {
		case c == '*':
			return fmt.Errorf("route path %q: \"*\" allowed only at the end (byte %d)", path, i)
		case c == '?' || c == '#' || isSpaceOrControl(c):
			return fmt.Errorf("route path %q: %q not allowed (byte %d)", path, c, i)
		}
	}
	if off, reason, _ := checkPath([]byte(path), slashes); reason != "" {
		return fmt.Errorf("route path %q: %s at byte %d, no request can match it", path, reason, off)
	}
	return nil
}

// checkCanonical reports whether backend is not what ParseBackend returns for it.
func checkCanonical(backend string) error {
	canonical, err := ParseBackend(backend)
	if err != nil {
		return err
	}
	if canonical != backend {
		return fmt.Errorf("backend %q is not canonical (want %q, from ParseBackend)", backend, canonical)
	}
	return nil
}
