package wire

import "bytes"

// Byte classes used by the parsers, as bit flags in byteClass.
const (
	// classToken marks tchar (RFC 9110 §5.6.2): the bytes of methods, header names and codings.
	classToken uint8 = 1 << iota
	// classTarget marks request-target bytes: VCHAR and obs-text (0x80-0xFF).
	classTarget
	// classValue marks field-value bytes: VCHAR, obs-text, SP and HTAB.
	classValue
	// classHost marks the bytes of a Host field value, uri-host [ ":" port ] (RFC 9110 §7.2, RFC
	// 3986 §3.2.2): unreserved, "%" of pct-encoded, sub-delims, and ":", "[" and "]" of ports and
	// IP literals.
	classHost
)

// byteClass maps each byte to its classes. Read-only after initialisation.
var byteClass = func() (t [256]uint8) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = classTarget | classValue
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = classTarget | classValue
	}
	t[' '] = classValue
	t['\t'] = classValue
	for c := '0'; c <= '9'; c++ { // digits and letters are in both
		t[c] |= classToken | classHost
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= classToken | classHost
		t[c-'a'+'A'] |= classToken | classHost
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		t[c] |= classToken
	}
	for _, c := range []byte("-._~%!$&'()*+,;=:[]") {
		t[c] |= classHost
	}
	return t
}()

// noHex marks a byte that is not a hex digit in hexValue.
const noHex = 0xff

// hexValue maps a hex digit to its value and every other byte to noHex. Read-only after
// initialisation.
var hexValue = func() (t [256]uint8) {
	for i := range t {
		t[i] = noHex
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c] = c - 'a' + 10
		t[c-'a'+'A'] = c - 'a' + 10
	}
	return t
}()

// toLower maps ASCII upper-case letters to lower case and every other byte to itself. Read-only
// after initialisation.
var toLower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = byte(c - 'A' + 'a')
	}
	return t
}()

// isToken reports whether b is a non-empty token.
func isToken(b []byte) bool {
	for _, c := range b {
		if byteClass[c]&classToken == 0 {
			return false
		}
	}
	return len(b) > 0
}

// equalFold reports whether b equals lower, which must be lower case, ignoring ASCII case.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if toLower[c] != lower[i] {
			return false
		}
	}
	return true
}

// isOWS reports whether c is optional whitespace (SP or HTAB).
func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// trimOWS returns b without leading and trailing SP and HTAB.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// listIter walks the elements of a comma-separated list (RFC 9110 §5.6.1), trimmed of OWS, skipping
// empty elements.
type listIter struct{ rest []byte }

// next returns the next non-empty element, or ok == false at the end of the list.
func (it *listIter) next() (elem []byte, ok bool) {
	for len(it.rest) > 0 {
		elem = it.rest
		if i := bytes.IndexByte(it.rest, ','); i >= 0 {
			elem, it.rest = it.rest[:i], it.rest[i+1:]
		} else {
			it.rest = nil
		}
		if elem = trimOWS(elem); len(elem) > 0 {
			return elem, true
		}
	}
	return nil, false
}
