package router

// checkPath looks, in one pass, for what lets a backend resolve path to a different one, and notes on
// the way whether path is already in normal form (see normalizer). It returns the offset and the
// reason (a Reason constant) of the first problem, or reason "" when path is acceptable; normal is
// meaningful only then.
//
// A segment ends at "/" and also at "%2F", "\" and "%5C", because backends that decode "%2F" or read
// "\" as "/" turn "/a/..%2Fb" into "/b". A dot segment is one whose every byte is "." or "%2e"/"%2E",
// once or twice, up to the end of the segment or a path parameter (";" or "%3B", RFC 3986 §3.3).
// A "\" or "%5C" is refused wherever it is, and "%2F" too when slashes is Reject.
//
// The path is not normal when it has an escape of an unreserved character, an escape written with
// a lower-case hex digit, "//", or (slashes Decode) any "%2F".
func checkPath(path []byte, slashes EscapedSlashes) (offset int, reason string, normal bool) {
	normal = true
	seg := 0  // where the current segment starts
	dots := 0 // dots in the current segment; -1 once it holds anything else
	for i := 0; i < len(path); {
		if c := path[i]; pathBytes[c] == plain { // the segment is no dot segment: skip the run
			dots = -1
			for i++; i < len(path) && pathBytes[path[i]] != special; i++ {
			}
			continue
		}
		c, width, escaped := path[i], 1, false
		if c == '%' {
			v, ok := unescape(path[i:])
			switch {
			case !ok:
				return i, ReasonBadEscape, false
			case v == 0:
				return i, ReasonEncodedNUL, false
			}
			normal = normal && !isUnreserved(v) && !isLowerHex(path[i+1]) && !isLowerHex(path[i+2]) &&
				(v != '/' || slashes != Decode)
			c, width, escaped = v, 3, true
		}
		switch c {
		case '/':
			if isDotSegment(dots) {
				return seg, ReasonDotSegment, false
			}
			if !escaped {
				// "//" is not normal; nor, for this test, is "%2F/" (harmless: it is normalised to itself)
				normal = normal && (seg != i || i == 0)
			} else if slashes == Reject {
				return i, ReasonEncodedSlash, false
			}
			seg, dots = i+width, 0
		case '.':
			if dots >= 0 {
				dots++
			}
		case ';', '\\': // a path parameter, or a backslash
			if isDotSegment(dots) {
				return seg, ReasonDotSegment, false
			}
			if c == '\\' {
				return i, backslashReason(escaped), false
			}
			dots = -1
		default:
			dots = -1
		}
		i += width
	}
	if isDotSegment(dots) {
		return seg, ReasonDotSegment, false
	}
	return 0, "", normal
}

// Classes of bytes in pathBytes.
const (
	plain   = '-' // nothing to checkPath
	dotty   = 'd' // begins or ends a dot segment: "." and ";"
	special = 's' // ends a run of bytes in any segment: "%", "/" and "\"
)

// pathBytes is the class of each byte, by value, for checkPath: "." and ";" matter only in a
// segment that has held nothing else so far, "%", "/" and "\" everywhere.
const pathBytes = "" +
	"-------------------------------------s--------ds-----------d----" + // 0x00-0x3f: "%", ".", "/", ";"
	"----------------------------s-----------------------------------" + // 0x40-0x7f: "\"
	"----------------------------------------------------------------" + // 0x80-0xbf
	"----------------------------------------------------------------" //   0xc0-0xff

// backslashReason returns the reason for a "\" in a path, written as "%5C" (escaped) or not.
func backslashReason(escaped bool) string {
	if escaped {
		return ReasonEncodedBackslash
	}
	return ReasonBackslash
}

// isDotSegment reports whether a segment of n dots (-1: not only dots) is "." or "..".
func isDotSegment(n int) bool {
	return n == 1 || n == 2
}

// Unreserved characters (RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~") as bit sets: bit c of
// unreservedLow for c < 64, bit c-64 of unreservedHigh for 64 <= c < 128.
const (
	unreservedLow  uint64 = 0x03ff600000000000 // "-", ".", "0"-"9"
	unreservedHigh uint64 = 0x47fffffe87fffffe // "A"-"Z", "_", "a"-"z", "~"
)

// isUnreserved reports whether c is an unreserved character (RFC 3986 §2.3). Percent-encoding one
// does not change what the URI means (§6.2.2.2).
func isUnreserved(c byte) bool {
	if c < 64 {
		return unreservedLow>>c&1 != 0
	}
	return c < 128 && unreservedHigh>>(c-64)&1 != 0
}

// isLowerHex reports whether c is a lower-case hexadecimal letter, which the normal form of an escape
// writes in upper case (RFC 3986 §6.2.2.1).
func isLowerHex(c byte) bool {
	return 'a' <= c && c <= 'f'
}

// unescape decodes the escape "%XY" at the start of s.
func unescape(s []byte) (byte, bool) {
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
