package router

// checkPath looks for what lets a backend resolve path to a different one: a dot segment, an
// encoded NUL or a malformed escape. It returns the offset and the reason (a Reason constant) of the
// first problem, or reason "" when path is acceptable.
//
// Segments end at "/" and also at an encoded slash ("%2F"), because a backend that decodes "%2F"
// before it resolves dot segments turns "/a/..%2Fb" into "/b". A dot segment is one whose every
// byte is "." or "%2e"/"%2E", once or twice. Nothing else is decoded.
func checkPath[T string | []byte](path T) (int, string) {
	seg := 0  // where the current segment starts
	dots := 0 // dots in the current segment; -1 once it holds anything else
	for i := 0; i < len(path); {
		if path[i] > '/' { // neither "%", "." nor "/": the segment is not a dot segment
			dots = -1
			for i++; i < len(path) && path[i] > '/'; i++ {
			}
			continue
		}
		c, width := path[i], 1
		if c == '%' {
			v, ok := unescape(path[i:])
			switch {
			case !ok:
				return i, ReasonBadEscape
			case v == 0:
				return i, ReasonEncodedNUL
			}
			c, width = v, 3
		}
		switch {
		case c == '/':
			if isDotSegment(dots) {
				return seg, ReasonDotSegment
			}
			seg, dots = i+width, 0
		case c == '.' && dots >= 0:
			dots++
		default:
			dots = -1
		}
		i += width
	}
	if isDotSegment(dots) {
		return seg, ReasonDotSegment
	}
	return 0, ""
}

// isDotSegment reports whether a segment of n dots (-1: not only dots) is "." or "..".
func isDotSegment(n int) bool {
	return n == 1 || n == 2
}

// unescape decodes the escape "%XY" at the start of s.
func unescape[T string | []byte](s T) (byte, bool) {
	if len(s) < 3 {
		return 0, false
	}
	hi, ok1 := unhex(s[1])
	lo, ok2 := unhex(s[2])
	return hi<<4 | lo, ok1 && ok2
}

// unhex returns the value of the hexadecimal digit c.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
