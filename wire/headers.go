package wire

import (
	"bytes"
	"math"
)

// fieldKind names the header fields whose values decide framing or connection handling.
type fieldKind uint8

const (
	fieldOther fieldKind = iota
	fieldHost
	fieldExpect
	fieldUpgrade
	fieldConnection
	fieldContentLength
	fieldTransferEncoding
)

// knownFields maps a header name length to the one known field name of that length (lower case).
// Every known name has a distinct length, so classifying a name is one lookup and one comparison.
// Read-only.
var knownFields = [...]struct {
	name string
	kind fieldKind
}{
	4:  {"host", fieldHost},
	6:  {"expect", fieldExpect},
	7:  {"upgrade", fieldUpgrade},
	10: {"connection", fieldConnection},
	14: {"content-length", fieldContentLength},
	17: {"transfer-encoding", fieldTransferEncoding},
}

// classifyField returns the kind of the header field with this name.
func classifyField(name []byte) fieldKind {
	if len(name) >= len(knownFields) {
		return fieldOther
	}
	k := knownFields[len(name)]
	if k.kind == fieldOther || !equalFold(name, k.name) {
		return fieldOther
	}
	return k.kind
}

// side says whose head is parsed: it sets the status of errors and the Transfer-Encoding rules.
type side uint8

const (
	sideRequest side = iota
	sideResponse
)

// status returns the status of a malformed head on this side.
func (s side) status() int {
	if s == sideRequest {
		return 400
	}
	return 502
}

// headFacts accumulates what the known header fields of one head say.
type headFacts struct {
	side          side
	version       Version
	contentLength int64
	lengthStart   int  // offset of the first Content-Length value, as written, in the buffer
	lengthEnd     int  // offset just after that value
	hasLength     bool // a Content-Length field was seen
	encodings     int  // number of Transfer-Encoding fields
	codings       int  // number of transfer codings they list (responses only)
	chunked       bool // the final transfer coding is chunked
	hosts         int  // number of Host fields
	close         bool // Connection lists "close"
	keepAlive     bool // Connection lists "keep-alive"
	connUpgrade   bool // Connection lists "upgrade"
	upgrade       bool // a non-empty Upgrade field was seen
	h2c           bool // Upgrade lists "h2c"
	expect        bool // Expect is "100-continue"
}

// add records the known header field f, reporting values that are malformed or contradict earlier
// fields.
func (h *headFacts) add(kind fieldKind, buf []byte, f fieldLine) error {
	value := buf[f.valueStart:f.valueEnd]
	var status int
	var reason string
	switch kind {
	case fieldHost:
		status, reason = h.host(value)
	case fieldExpect:
		h.expect = h.expect || equalFold(value, "100-continue")
	case fieldUpgrade:
		h.upgrade = h.upgrade || len(value) > 0
		h.h2c = h.h2c || listHas(value, "h2c")
	case fieldConnection:
		h.connectionOptions(value)
	case fieldContentLength:
		status, reason = h.length(buf, f)
	case fieldTransferEncoding:
		status, reason = h.transferCoding(value)
	}
	if status != 0 {
		return newError(status, reason, buf, f.valueStart)
	}
	return nil
}

// length records the Content-Length value of the field line f of buf; it returns the status and
// reason of an error, or 0. The value is kept as offsets, since the buffer may move between the
// calls of a resumable parser.
func (h *headFacts) length(buf []byte, f fieldLine) (int, string) {
	value := buf[f.valueStart:f.valueEnd]
	n, ok := parseContentLength(value)
	switch {
	case !ok:
		return h.side.status(), "invalid Content-Length"
	case h.hasLength && (n != h.contentLength || !bytes.Equal(value, buf[h.lengthStart:h.lengthEnd])):
		// Duplicates must be spelled alike: "10" and "010" are refused like "10" and "11",
		// since recipients that compare the text would disagree.
		return h.side.status(), "conflicting Content-Length fields"
	case h.encodings > 0:
		return h.side.status(), "both Content-Length and Transfer-Encoding"
	}
	h.hasLength, h.contentLength = true, n
	h.lengthStart, h.lengthEnd = f.valueStart, f.valueEnd
	return 0, ""
}

// transferCoding records a Transfer-Encoding value; it returns the status and reason of an error,
// or 0.
func (h *headFacts) transferCoding(value []byte) (int, string) {
	h.encodings++
	if h.hasLength {
		return h.side.status(), "both Content-Length and Transfer-Encoding"
	}
	if h.side == sideResponse {
		final, n, ok := finalCoding(value)
		if !ok {
			return 502, "malformed Transfer-Encoding"
		}
		h.chunked = equalFold(final, "chunked")
		h.codings += n
		return 0, ""
	}
	switch {
	case h.version == HTTP10:
		return 400, "Transfer-Encoding in an HTTP/1.0 request"
	case h.encodings > 1:
		return 400, "more than one Transfer-Encoding field"
	case string(value) == "chunked":
		h.chunked = true
		return 0, ""
	case knownCodings(value):
		return 501, "unsupported Transfer-Encoding"
	}
	return 400, `Transfer-Encoding other than "chunked"`
}

// host counts a Host field with value, which in a request must hold only the bytes of
// uri-host [ ":" port ] (RFC 9112 §3.2: backends would read a "/", "@", "\" or space in it each
// their own way); it returns the status and reason of an error, or 0.
func (h *headFacts) host(value []byte) (int, string) {
	h.hosts++
	if h.side != sideRequest {
		return 0, ""
	}
	if h.hosts > 1 {
		return 400, "more than one Host field"
	}
	for _, c := range value {
		if byteClass[c]&classHost == 0 {
			return 400, "invalid Host field value"
		}
	}
	return 0, ""
}

// connectionOptions records the options of a Connection field.
func (h *headFacts) connectionOptions(value []byte) {
	it := listIter{rest: value}
	for t, ok := it.next(); ok; t, ok = it.next() {
		h.close = h.close || equalFold(t, "close")
		h.keepAlive = h.keepAlive || equalFold(t, "keep-alive")
		h.connUpgrade = h.connUpgrade || equalFold(t, "upgrade")
	}
}

// closes reports whether the connection closes after this message: "Connection: close", or
// HTTP/1.0 without "Connection: keep-alive".
func (h *headFacts) closes() bool {
	return h.close || h.version == HTTP10 && !h.keepAlive
}

// parseContentLength parses a Content-Length value: 1*DIGIT fitting in an int64.
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		d := int64(c) - '0'
		if d < 0 || d > 9 || n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// knownCodings reports whether v is a list of registered transfer codings, in lower case, with
// "chunked" only as the final one.
func knownCodings(v []byte) bool {
	it := listIter{rest: v}
	n, chunkedSeen := 0, false
	for c, ok := it.next(); ok; c, ok = it.next() {
		if chunkedSeen {
			return false
		}
		switch string(c) {
		case "chunked":
			chunkedSeen = true
		case "compress", "deflate", "gzip", "x-compress", "x-gzip":
		default:
			return false
		}
		n++
	}
	return n > 0
}

// finalCoding returns the last coding of a Transfer-Encoding list and the number n of codings it
// lists, or ok == false when the list is empty or an element is not a token.
func finalCoding(v []byte) (final []byte, n int, ok bool) {
	it := listIter{rest: v}
	for c, more := it.next(); more; c, more = it.next() {
		if !isToken(c) {
			return nil, 0, false
		}
		final = c
		n++
	}
	return final, n, final != nil
}

// listHas reports whether the comma-separated list v has an element equal to lower, ignoring case.
func listHas(v []byte, lower string) bool {
	it := listIter{rest: v}
	for e, ok := it.next(); ok; e, ok = it.next() {
		if equalFold(e, lower) {
			return true
		}
	}
	return false
}
