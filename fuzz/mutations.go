package fuzz

import "strings"

// The framing mutations: every byte value put at each place of a framing line where one HTTP/1.1
// parser might read it differently from another (request smuggling, RFC 9112 §11.2), after the
// families of the public desync lists. TestFramingMutations runs them through the checks of the
// fuzz targets; scripts/desync sends them through proxyd to servers of other stacks.

// placements returns the field line "name: value" (without its CRLF) with the byte c at each
// place: before the name, in place of the name's '-', after the name, after the colon in place of
// the space, before the value, inside a value of more than one byte, and after the value.
func placements(name, value string, c byte) []string {
	b := string([]byte{c})
	lines := []string{
		b + name + ": " + value,
		strings.Replace(name, "-", b, 1) + ": " + value,
		name + b + ": " + value,
		name + ":" + b + value,
		name + ": " + b + value,
	}
	if k := len(value) / 2; k > 0 {
		lines = append(lines, name+": "+value[:k+1]+b+value[k+1:])
	}
	return append(lines, name+": "+value+b)
}

// teSpellings are Transfer-Encoding lines of the desync lists that are not one byte away from
// "Transfer-Encoding: chunked": case, quoting, lists, truncation, repetition and folding.
var teSpellings = [...]string{
	"TRANSFER-ENCODING: CHUNKED",
	"TrAnSfEr-EnCoDiNg: cHuNkEd",
	"Transfer-Encoding: 'chunked'",
	"Transfer-Encoding: chunk",
	"Transfer-Encoding: chunked, cow",
	"Transfer-Encoding: cow, chunked",
	"Transfer-Encoding: cow chunked bar",
	"Transfer-Encoding: chunked;q=1",
	"Transfer-Encoding: ,chunked",
	"Transfer-Encoding: chunked,",
	"Transfer-Encoding: chunked, chunked",
	"Transfer-Encoding: identity, chunked",
	"Transfer-Encoding: cow\r\nTransfer-Encoding: chunked",
	"Transfer-Encoding: chunked\r\nTransfer-Encoding: cow",
	"Transfer-Encoding:\n chunked",
	"Transfer_Encoding: chunked",
	"Transfer Encoding: chunked",
	"Content-Encoding: chunked",
	"Connection: Transfer-Encoding",
	"Connection: Content-Length",
}

// framingMutations returns the Transfer-Encoding lines with every byte value at each place
// ("Transfer-Encoding: chunked", placements) and teSpellings, and the Content-Length lines for a
// 5-byte body likewise.
func framingMutations() (te, cl []string) {
	for c := range 256 {
		te = append(te, placements("Transfer-Encoding", "chunked", byte(c))...)
		cl = append(cl, placements("Content-Length", "5", byte(c))...)
	}
	return append(te, teSpellings[:]...), cl
}

// framedHeads returns heads that begin with start (a start line and the fields before the
// framing) and carry each framing mutation: a Transfer-Encoding line alone and followed by
// "Content-Length: 5" (CL.TE, TE.CL), and a Content-Length line alone; each head is followed by
// a chunked body's last chunk.
func framedHeads(start string) []string {
	const body = "\r\n0\r\n\r\n"
	te, cl := framingMutations()
	var heads []string
	for _, line := range te {
		heads = append(heads, start+line+"\r\n"+body, start+line+"\r\nContent-Length: 5\r\n"+body)
	}
	for _, line := range cl {
		heads = append(heads, start+line+"\r\n"+body)
	}
	return heads
}

// RequestMutations returns request heads with each framing mutation (framedHeads), and with every
// byte value after the method, in the target, before and after the version of a request line.
func RequestMutations() []string {
	heads := framedHeads("POST / HTTP/1.1\r\nHost: a\r\n")
	for c := range 256 {
		b := string([]byte{byte(c)})
		heads = append(heads,
			"GET"+b+"/ HTTP/1.1\r\nHost: a\r\n\r\n",
			"GET /a"+b+"b HTTP/1.1\r\nHost: a\r\n\r\n",
			"GET / "+b+"HTTP/1.1\r\nHost: a\r\n\r\n",
			"GET / HTTP/1.1"+b+"\r\nHost: a\r\n\r\n")
	}
	return heads
}

// ResponseMutations returns response heads with each framing mutation (framedHeads).
func ResponseMutations() []string { return framedHeads("HTTP/1.1 200 OK\r\n") }

// ChunkedMutations returns chunked bodies with every byte value at each place of their framing:
// before, after and inside the chunk size, in an extension's name, value and quoted value, in place
// of the CR and the LF after the size line and after chunk data, after the last chunk's size, and
// before, inside and after a trailer field.
func ChunkedMutations() []string {
	var bodies []string
	for c := range 256 {
		b := string([]byte{byte(c)})
		bodies = append(bodies,
			b+"5\r\nhello\r\n0\r\n\r\n",
			"5"+b+"\r\nhello\r\n0\r\n\r\n",
			"1"+b+"0\r\n0123456789abcdef\r\n0\r\n\r\n",
			"5;"+b+"\r\nhello\r\n0\r\n\r\n",
			"5;a="+b+"\r\nhello\r\n0\r\n\r\n",
			"5;a=\""+b+"\"\r\nhello\r\n0\r\n\r\n",
			"5"+b+"\nhello\r\n0\r\n\r\n",
			"5\r"+b+"hello\r\n0\r\n\r\n",
			"5\r\nhello"+b+"\n0\r\n\r\n",
			"5\r\nhello\r"+b+"0\r\n\r\n",
			"5\r\nhello\r\n0"+b+"\r\n\r\n",
			"0\r\n"+b+"X: y\r\n\r\n",
			"0\r\nX"+b+": y\r\n\r\n",
			"0\r\nX: y"+b+"\r\n\r\n",
			"0\r\nX: y\r\n"+b+"\r\n",
		)
	}
	return bodies
}
