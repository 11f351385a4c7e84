package router

// Rewrite appends to dst the request-target with the first m.Strip bytes of its path removed, and
// returns the extended slice. The result's path always starts with "/", the query is kept, and so are
// the scheme and authority of an absolute-form target: with the route "/api", "/api/users" becomes
// "/users", "/api" becomes "/" and "/api?x=1" becomes "/?x=1"; with "/api*", "/apiary" becomes
// "/ary"; with "/api/", "/api/users" becomes "/users". When m.Route is -1 (the default backend), or
// the target has no path, it appends target unchanged. m must come from Match on the same target; a
// Strip beyond the path is taken as the whole path. Rewrite does not allocate when dst has room for
// len(target)+1 more bytes.
func Rewrite(dst, target []byte, m Match) []byte {
	start, end, ok := splitTarget(target)
	if m.Route < 0 || !ok {
		return append(dst, target...)
	}
	rest := target[start+min(max(m.Strip, 0), end-start) : end]
	dst = append(dst, target[:start]...)
	if len(rest) == 0 || rest[0] != '/' {
		dst = append(dst, '/')
	}
	dst = append(dst, rest...)
	return append(dst, target[end:]...)
}
