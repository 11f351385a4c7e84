package wire

import "encoding/binary"

// fieldLine locates one header field line in a buffer: the name is buf[start:colon], the value
// without surrounding whitespace buf[valueStart:valueEnd], and the next line starts at next (after
// the CRLF).
type fieldLine struct{ start, colon, valueStart, valueEnd, next int }

// scanField scans the field line that starts at buf[i] (RFC 9112 §5: field-name ":" OWS
// field-value OWS CRLF). It returns ErrIncomplete when buf ends inside a line that is valid so far,
// and an *Error with the given status as soon as a byte proves the line malformed: a non-token byte
// or whitespace in the name, a line starting with whitespace (obs-fold), a control byte other than
// HTAB in the value, a bare CR or a bare LF.
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
