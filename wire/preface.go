package wire

import "bytes"

// H2Preface is the HTTP/2 client connection preface (RFC 9113 §3.4) that a client speaking HTTP/2
// with prior knowledge sends first.
const H2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// h2PrefaceLine is the first line of H2Preface: the request line of method PRI and version
// HTTP/2.0, which no HTTP/1.x client has reason to send.
const h2PrefaceLine = "PRI * HTTP/2.0\r\n"

// MatchH2Preface reports whether buf starts with the HTTP/2 client preface (match), or is a proper
// prefix of it so that more bytes are needed to decide (more). Both are false for anything else.
func MatchH2Preface(buf []byte) (match, more bool) {
	if len(buf) < len(H2Preface) {
		return false, string(buf) == H2Preface[:len(buf)]
	}
	return string(buf[:len(H2Preface)]) == H2Preface, false
}

// InvalidH2Preface reports whether buf starts with the first line of the HTTP/2 client preface,
// "PRI * HTTP/2.0\r\n", but not with the whole preface (whether the rest differs or has not come):
// the first bytes of a client that speaks HTTP/2 with prior knowledge and sent an invalid preface,
// a connection error (RFC 9113 §3.4) rather than an HTTP/1.x request to answer.
func InvalidH2Preface(buf []byte) bool {
	match, _ := MatchH2Preface(buf)
	return !match && len(buf) >= len(h2PrefaceLine) && string(buf[:len(h2PrefaceLine)]) == h2PrefaceLine
}

// ForeignRequestLine reports whether buf starts with a complete first line that names no protocol:
// three words, the last without a "/" ("INVALID CONNECTION PREFACE\r\n"). Such bytes come from a
// client that speaks neither HTTP/1.x (whose version is "HTTP/" and digits, a malformed one
// included) nor HTTP/2 with a valid preface, and no HTTP/1.x answer means anything to it.
func ForeignRequestLine(buf []byte) bool {
	end := bytes.Index(buf, []byte("\r\n"))
	if end < 0 {
		return false
	}
	line := buf[:end]
	if bytes.Count(line, []byte(" ")) != 2 { // three words
		return false
	}
	last := line[bytes.LastIndexByte(line, ' ')+1:]
	return len(last) > 0 && bytes.IndexByte(last, '/') < 0
}
