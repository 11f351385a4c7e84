package wire

import "encoding/binary"

// fieldLine locates one header field line in a buffer: the name is buf[start:colon], the value
// without surrounding whitespace buf[valueStart:valueEnd], and the next line starts at next (after
// the CRLF).
type fieldLine struct{ start, colon, valueStart, valueEnd, next int }

// scanField scans the field line that starts at buf[start] (RFC 9112 §5: field-name ":" OWS
// field-value OWS CRLF). It returns ErrIncomplete when buf ends inside a line that is valid so far,
// and an *Error with the given status as soon as a byte proves the line malformed: a non-token byte
// or whitespace in the name, a line starting with whitespace (obs-fold), a control byte other than
// HTAB in the value, a bare CR or a bare LF.
//
// On ErrIncomplete, every byte of the line was validated but a CR that ends buf, and f.colon is
// set when the name is complete (it is left alone otherwise).
func scanField(buf []byte, start, status int, f *fieldLine) error {
	line := buf[start:]
	n := 0
	for n < len(line) && byteClass[line[n]]&classToken != 0 {
		n++
	}
	if n == len(line) {
		return ErrIncomplete
	}
	if line[n] != ':' || n == 0 {
		return nameError(buf, start, start+n, status)
	}
	f.start, f.colon = start, start+n
	n++
	for n < len(line) && isOWS(line[n]) {
		n++
	}
	vs := n
	n = skipValue(line, n)
	if n+1 >= len(line) || line[n] != '\r' || line[n+1] != '\n' {
		if n == len(line) {
			return ErrIncomplete
		}
		return crlfAt(buf, start+n, status)
	}
	ve := n
	for ve > vs && isOWS(line[ve-1]) {
		ve--
	}
	f.valueStart, f.valueEnd, f.next = start+vs, start+ve, start+n+2
	return nil
}

// lineScan is the progress in a field line that arrives in pieces: the bytes from the line's start
// up to checked are a valid beginning of a field line. Its checked is the line's start while no
// byte of the line was validated.
type lineScan struct {
	checked int // offset in the buffer of the first byte not yet validated
	colon   int // offset of the colon ending the name; 0 while the name is not complete
	// scanned counts the bytes the validating loops passed over since the head parser's call
	// began, for the tests that check that the work is linear in the head's size however the
	// head arrives.
	scanned int
}

// resume validates the incomplete field line that starts at buf[start] from s.checked on, and
// reports whether it is still incomplete. When it is not, the line holds its CRLF or a malformed
// byte: scanning it whole once more with scanField gives its fields or its error, so that a line
// costs at most two passes however it arrives.
func (s *lineScan) resume(buf []byte, start int) (incomplete bool) {
	n := s.checked
	if s.colon == 0 {
		for n < len(buf) && byteClass[buf[n]]&classToken != 0 {
			n++
		}
		s.scanned += n - s.checked
		s.checked = n
		if n == len(buf) || buf[n] != ':' {
			return n == len(buf)
		}
		s.colon = n
	}
	n = skipValue(buf, n)
	s.scanned += n - s.checked
	s.checked = n
	return n == len(buf) || n+1 == len(buf) && buf[n] == '\r'
}

// skipValue returns the index of the first byte at or after buf[i] that is not a field-value byte
// (VCHAR, obs-text, SP, HTAB), or len(buf).
func skipValue(buf []byte, i int) int {
	return skipClass(buf, i, classValue, ' ')
}

// skipClass returns the index of the first byte at or after buf[i] that is not in class, or
// len(buf). Every byte from low to 0xFF except DEL must be in class. Whole words of 8 bytes none
// of which is below low or DEL are skipped at once (SWAR); the rest is looked up in byteClass.
func skipClass(buf []byte, i int, class uint8, low byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(buf); i += 8 {
		x := binary.LittleEndian.Uint64(buf[i:])
		del := x ^ ones*0x7f // a zero byte where x has DEL
		if ((x-ones*uint64(low))&^x|(del-ones)&^del)&highs != 0 {
			break
		}
	}
	for i < len(buf) && byteClass[buf[i]]&class != 0 {
		i++
	}
	return i
}

// crlfAt checks that a line ends with CRLF at buf[i]: ErrIncomplete when buf ends before the LF,
// an *Error naming the byte otherwise.
func crlfAt(buf []byte, i, status int) error {
	switch {
	case buf[i] == '\n':
		return newError(status, "bare LF", buf, i)
	case buf[i] == 0:
		return newError(status, "NUL byte", buf, i)
	case buf[i] != '\r':
		return newError(status, "control byte", buf, i)
	case i+1 == len(buf):
		return ErrIncomplete
	case buf[i+1] != '\n':
		return newError(status, "bare CR", buf, i)
	}
	return nil
}

// startLineEnd checks that the start line (request or status line) ends with CRLF at buf[i]. A
// visible byte there is reported with reason, anything else as by crlfAt.
func startLineEnd(buf []byte, i, status int, reason string) error {
	switch {
	case i == len(buf):
		return ErrIncomplete
	case byteClass[buf[i]]&classValue != 0:
		return newError(status, reason, buf, i)
	}
	return crlfAt(buf, i, status)
}

// nameError explains why the header name starting at buf[start] stopped at buf[i].
func nameError(buf []byte, start, i, status int) *Error {
	c := buf[i]
	switch {
	case isOWS(c) && i == start:
		return newError(status, "line folding (obs-fold) or whitespace before header name", buf, i)
	case isOWS(c):
		return newError(status, "whitespace before colon in header name", buf, i)
	case c == ':':
		return newError(status, "empty header name", buf, i)
	case c == '\n':
		return newError(status, "bare LF", buf, i)
	case c == '\r':
		return newError(status, "header line without colon", buf, i)
	}
	return newError(status, "invalid byte in header name", buf, i)
}
