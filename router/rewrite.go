package router

// Rewrite appends to dst the request-target with the first m.Strip raw bytes of its path removed, and
// returns the extended slice. The rest of the target is kept byte for byte, escapes as sent: the
// result's path always starts with "/" (one is added when the rest does not start with one), the
// query is kept, and so are the scheme and authority of an absolute-form target. With the route
// "/api", "/api/users" becomes "/users", "/api" becomes "/", "/api?x=1" becomes "/?x=1" and
// "//api/%61" becomes "/%61"; with "/api*", "/apiary" becomes "/ary"; with "/api/", "/api/users"
// becomes "/users". When m.Route is -1 (the default backend), or the target has no path, it appends
// target unchanged; a target Match rejects as a whole ("ws://h/x") is a *PathError. m must come from
// Match on the same target; a Strip beyond the path is taken as the whole path.
//
// The rewritten path gets the check Match makes (with EscapedSlashes Keep, as the path has no "%2F"
// a Reject table would refuse): removing a "*" route's prefix can make a dot segment, as "/pre*" does
// of "/pre../admin" ("/../admin") or "/pre.;/x" ("/.;/x"). Then Rewrite returns dst as it was given and
// a *PathError whose Path is the rewritten path. It does not allocate when dst has room for
// len(target)+1 more bytes, unless it returns an error.
func Rewrite(dst, target []byte, m Match) ([]byte, error) {
	if m.Route < 0 {
		return append(dst, target...), nil
	}
	start, end, err := splitTarget(target)
	if err != nil {
		return dst, err
	}
	if start < 0 {
		return append(dst, target...), nil
	}
	rest := target[start+min(max(m.Strip, 0), end-start) : end]
	given := len(dst)
	dst = append(dst, target[:start]...)
	path := len(dst)
	if len(rest) == 0 || rest[0] != '/' {
		dst = append(dst, '/')
	}
	dst = append(dst, rest...)
	if offset, reason, _ := checkPath(dst[path:], Keep); reason != "" {
		return dst[:given], newPathError(dst[path:], offset, reason)
	}
	return append(dst, target[end:]...), nil
}
