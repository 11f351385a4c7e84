package router

// normalizer writes the normal form, for routing, of a path that checkPath accepted, a piece at a
// time (RFC 3986 §6.2.2): an escape of an unreserved character becomes that character (§6.2.2.2),
// the hex digits of any other escape are written in upper case (§6.2.2.1), and each run of "/" is
// one "/". With decodeSlash (EscapedSlashes Decode), "%2F" is a "/" too and merges with its
// neighbours. Nothing else changes; the query is never part of it.
type normalizer struct {
	raw         []byte // the path
	pos         int    // raw bytes consumed so far
	decodeSlash bool   // "%2F" stands for "/"
	slash       bool   // the last byte written was "/"
}

// fill writes the normal form of the path from where the last call stopped into dst, as many whole
// units (a byte, or an escape) as fit, and returns how many bytes it wrote: 0 only at the end of the
// path, when len(dst) >= 3.
func (z *normalizer) fill(dst []byte) int {
	raw, pos, slash, n := z.raw, z.pos, z.slash, 0
	for pos < len(raw) && n < len(dst) {
		c, width := raw[pos], 1
		if c == '%' { // valid, as checkPath made sure
			width = 3
			hi, _ := unhex(raw[pos+1])
			lo, _ := unhex(raw[pos+2])
			if v := hi<<4 | lo; isUnreserved(v) || v == '/' && z.decodeSlash {
				c = v
			} else if n+3 <= len(dst) {
				dst[n], dst[n+1], dst[n+2] = '%', upperHex(raw[pos+1]), upperHex(raw[pos+2])
				n, pos, slash = n+3, pos+3, false
				continue
			} else {
				break
			}
		}
		pos += width
		if c == '/' && slash {
			continue
		}
		dst[n] = c
		n++
		slash = c == '/'
	}
	z.pos, z.slash = pos, slash
	return n
}

// upperHex returns the hexadecimal digit c in upper case.
func upperHex(c byte) byte {
	if isLowerHex(c) {
		return c - 'a' + 'A'
	}
	return c
}

// normalPath returns the normal form of path, which checkPath accepted.
func normalPath(path string, slashes EscapedSlashes) string {
	z := normalizer{raw: []byte(path), decodeSlash: slashes == Decode}
	out := make([]byte, len(path))
	return string(out[:z.fill(out)])
}

// rawLen returns how many leading bytes of path, which checkPath accepted, make up the first
// normalLen bytes of its normal form. normalLen must end a unit that is not "/", as a route's strip
// length does, or be 0.
func rawLen(path []byte, normalLen int, slashes EscapedSlashes) int {
	var scratch [streamWindow]byte
	z := normalizer{raw: path, decodeSlash: slashes == Decode}
	for left := normalLen; left > 0; {
		n := z.fill(scratch[:min(left, len(scratch))])
		if n == 0 {
			break
		}
		left -= n
	}
	return z.pos
}

// streamWindow is how many normal bytes a pathStream makes at once (16); a path whose normal form is
// longer is normalised a window at a time, only as far as the walk down the route tree goes.
const streamWindow = 16

// pathStream hands the normal form of a path that is not in normal form to the route tree, a window
// at a time: a normalizer fills a fixed window on the caller's stack whenever the walk has used up
// the last one, so that no path is too long and none allocates. A nil *pathStream has nothing more,
// which is how a path already in normal form goes down the tree, in one window: itself.
type pathStream struct {
	buf [streamWindow]byte
	z   normalizer
}

// next returns the next window of normal bytes, or nil at the end of the path.
func (s *pathStream) next() []byte {
	if s == nil {
		return nil
	}
	return s.buf[:s.z.fill(s.buf[:])]
}

// consume checks that label comes next in the path, where win is the current window and label is
// longer than it, and returns the window after label. ok is false when label does not come next.
func (s *pathStream) consume(win []byte, label string) (rest []byte, ok bool) {
	for {
		k := min(len(label), len(win))
		if string(win[:k]) != label[:k] {
			return nil, false
		}
		win, label = win[k:], label[k:]
		if label == "" {
			return win, true
		}
		if win = s.next(); len(win) == 0 {
			return nil, false
		}
	}
}
