package fuzz

import (
	"bytes"
	"strings"

	"proxyd.dev/wire"
)

// chunkedReference decodes the chunked body (RFC 9112 §7.1) at the start of b under the rules
// wire.CopyChunked documents, written plainly from the grammar:
//
//	chunked-body = *chunk last-chunk trailer-section CRLF
//	chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//	last-chunk   = 1*("0") [ chunk-ext ] CRLF
//
// with a chunk size of 1 to 16 hex digits fitting in int64, extensions and trailer values of
// field-value bytes (VCHAR, obs-text, SP, HTAB), trailer names of token bytes directly followed by
// ":", and no line longer than wire.MaxChunkLineSize. It returns the payload (the chunk data
// joined) and the length of the body, or ok == false when b does not start with a complete, valid
// chunked body.
func chunkedReference(b []byte) (payload []byte, n int, ok bool) {
	payload = []byte{}
	for {
		line, rest, ok := cutChunkLine(b[n:])
		if !ok {
			return nil, 0, false
		}
		sizeText, ext, hasExt := bytes.Cut(line, []byte(";"))
		size, ok := chunkSize(sizeText)
		if !ok || hasExt && !allFieldValue(ext) {
			return nil, 0, false
		}
		n += len(b[n:]) - len(rest)
		if size == 0 {
			return trailerReference(b, n, payload)
		}
		if int64(len(rest))-2 < size || !bytes.Equal(rest[size:size+2], []byte("\r\n")) {
			return nil, 0, false
		}
		payload = append(payload, rest[:size]...)
		n += int(size) + 2
	}
}

// trailerReference reads the trailer section and the final CRLF of a chunked body from b[n:],
// after its last chunk, and returns the payload and the length of the whole body.
func trailerReference(b []byte, n int, payload []byte) ([]byte, int, bool) {
	for {
		line, rest, ok := cutChunkLine(b[n:])
		if !ok {
			return nil, 0, false
		}
		n += len(b[n:]) - len(rest)
		if len(line) == 0 {
			return payload, n, true
		}
		name, value, found := bytes.Cut(line, []byte(":"))
		if !found || !isTokenBytes(name) || !allFieldValue(value) {
			return nil, 0, false
		}
	}
}

// cutChunkLine returns the line at the start of b without its CRLF and the bytes after it. ok is
// false when b holds no CRLF, the line holds a CR or LF of its own, or it is longer than
// wire.MaxChunkLineSize with its CRLF.
func cutChunkLine(b []byte) (line, rest []byte, ok bool) {
	line, rest, found := bytes.Cut(b, []byte("\r\n"))
	if !found || bytes.ContainsAny(line, "\r\n") || len(line)+2 > wire.MaxChunkLineSize {
		return nil, nil, false
	}
	return line, rest, true
}

// chunkSize parses 1 to 16 hex digits fitting in an int64.
func chunkSize(s []byte) (int64, bool) {
	const maxDigits = 16
	if len(s) == 0 || len(s) > maxDigits || len(s) == maxDigits && s[0] > '7' {
		return 0, false
	}
	var n int64
	for _, c := range s {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

// allFieldValue reports whether every byte of b may appear in a field value: VCHAR, obs-text, SP
// and HTAB.
func allFieldValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// isTokenBytes reports whether b is a non-empty token (RFC 9110 §5.6.2).
func isTokenBytes(b []byte) bool {
	for _, c := range b {
		alnum := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		if !alnum && strings.IndexByte("!#$%&'*+-.^_`|~", c) < 0 {
			return false
		}
	}
	return len(b) > 0
}
