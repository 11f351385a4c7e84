package router

import "bytes"

// hierStart returns where the authority of an absolute-form target starts, after "http://" or
// "https://" (RFC 9110 §4.2; the scheme in any case, RFC 3986 §3.1), or the reason the target is not
// one: another scheme is ReasonScheme; no scheme, or one not followed by "//", is
// ReasonMalformedTarget, since a URI of the http schemes has an authority (RFC 9110 §4.2.1).
func hierStart(target []byte) (int, string) {
	colon := schemeLen(target)
	if colon < 0 {
		return 0, ReasonMalformedTarget
	}
	// schemeLen admits ASCII only, so bytes.EqualFold's Unicode folding is ASCII case folding here.
	scheme := target[:colon]
	if !bytes.EqualFold(scheme, []byte("http")) && !bytes.EqualFold(scheme, []byte("https")) {
		return 0, ReasonScheme
	}
	if len(target) < colon+3 || string(target[colon:colon+3]) != "://" {
		return 0, ReasonMalformedTarget
	}
	return colon + 3, ""
}

// schemeLen returns the length of the scheme that target starts with, up to its ":" (RFC 3986
// §3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )), or -1 when it starts with none.
func schemeLen(target []byte) int {
	for i, c := range target {
		switch {
		case isAlpha(c), i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case c == ':' && i > 0:
			return i
		default:
			return -1
		}
	}
	return -1
}

// isAuthorityForm reports whether target is authority-form (RFC 9112 §3.2.3): uri-host ":" port,
// with a port of at least one digit. "http:80" is one too: a host named http.
func isAuthorityForm(target []byte) bool { return isHostPort(target, true) }

// isHostPort reports whether a is uri-host [ ":" port ] (RFC 3986 §3.2.2, §3.2.3): a host that is
// an IP literal in brackets or a non-empty reg-name or IPv4 address, and a port of digits, which
// needPort requires to be there and not empty.
func isHostPort(a []byte, needPort bool) bool {
	host, port, hasPort := a, []byte(nil), false
	if colon := bytes.LastIndexByte(a, ':'); colon >= 0 && bytes.IndexByte(a[colon:], ']') < 0 {
		host, port, hasPort = a[:colon], a[colon+1:], true
	}
	if needPort && (!hasPort || len(port) == 0) || len(host) == 0 {
		return false
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
	}
	if host[0] == '[' {
		return len(host) > 2 && host[len(host)-1] == ']' && allHostBytes(host[1:len(host)-1], true)
	}
	return allHostBytes(host, false)
}

// allHostBytes reports whether host is made of unreserved characters, sub-delims and escapes
// (RFC 3986 §3.2.2 reg-name), plus ":" inside an IP literal (inBrackets).
func allHostBytes(host []byte, inBrackets bool) bool {
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case isUnreserved(c) || isSubDelim(c) || c == ':' && inBrackets:
		case c == '%':
			if _, ok := unescape(host[i:]); !ok {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

// isSubDelim reports whether c is one of the sub-delims of RFC 3986 §2.2: "!$&'()*+,;=".
func isSubDelim(c byte) bool {
	switch c {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
		return true
	}
	return false
}

// isAlpha reports whether c is an ASCII letter.
func isAlpha(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}
