package wire

// H2Preface is the HTTP/2 client connection preface (RFC 9113 §3.4) that a client speaking HTTP/2
// with prior knowledge sends first.
const H2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// MatchH2Preface reports whether buf starts with the HTTP/2 client preface (match), or is a proper
// prefix of it so that more bytes are needed to decide (more). Both are false for anything else.
func MatchH2Preface(buf []byte) (match, more bool) {
	if len(buf) < len(H2Preface) {
		return false, string(buf) == H2Preface[:len(buf)]
	}
	return string(buf[:len(H2Preface)]) == H2Preface, false
}
