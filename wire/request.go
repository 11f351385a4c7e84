package wire

// Request heads are parsed strictly because a proxy forwards them byte for byte: a head that two
// HTTP implementations could frame differently is rejected rather than interpreted (RFC 9112 §11.2,
// request smuggling). In particular:
//
//   - the request line is exactly METHOD SP request-target SP HTTP-version CRLF, with one SP each,
//     a token method and a target of visible ASCII or obs-text bytes; no empty line before it;
//   - CR and LF occur only as the CRLF ending a line; no NUL or other control byte occurs anywhere
//     except HTAB inside field values; header names are tokens directly followed by the colon; no
//     line folding (obs-fold);
//   - Content-Length is 1*DIGIT (surrounding whitespace aside) within int64; several Content-Length
//     fields must agree; Content-Length and Transfer-Encoding never come together;
//   - Transfer-Encoding occurs at most once, only in HTTP/1.1, and its value is exactly "chunked"
//     (lower case, surrounding whitespace aside). Backends disagree on every other spelling
//     ("Chunked", quoted, "chunked, identity", control bytes around it), so only the one spelling
//     every backend reads the same way is accepted. A list of registered codings that is not just
//     "chunked" (e.g. "gzip") is answered 501, anything else 400;
//   - an HTTP/1.1 request has exactly one Host field, any request at most one, and its value holds
//     only the bytes of uri-host [ ":" port ] (RFC 3986 §3.2.2): letters, digits, "-._~%",
//     sub-delims, ":", "[" and "]"; it may be empty.

// RequestHead holds the facts a proxy needs about one request head. Its slices point into the
// buffer given to the call of ParseRequestHead or RequestParser.Parse that returned it, and are
// valid only until that buffer is modified or reused.
type RequestHead struct {
	Method         []byte
	Target         []byte // raw request-target
	TargetStart    int    // offset of Target in the buffer: Target == buf[TargetStart:TargetStart+len(Target)]
	Version        Version
	Len            int     // length of the whole head including the final CRLF CRLF
	Body           Framing // BodyNone, BodyLength or BodyChunked; "Content-Length: 0" gives BodyNone
	Close          bool    // the client wants the connection closed after this exchange: "Connection: close", or HTTP/1.0 without "Connection: keep-alive"
	Upgrade        bool    // an HTTP/1.1 request with a non-empty Upgrade field whose Connection lists "upgrade"
	H2C            bool    // the Upgrade field lists "h2c" (see StripH2CUpgrade)
	ExpectContinue bool    // "Expect: 100-continue" (case-insensitive)
}

// ParseRequestHead parses the request head at the start of buf into h.
//
// It returns ErrIncomplete when buf holds the valid beginning of a head but not its end: the caller
// reads more and calls again with the longer buf. It returns an *Error (Status 400, 501 or 505) for
// a malformed head, as soon as the bytes seen prove it: a byte that no valid head has at its place
// (a bare LF, a control byte, whitespace before a colon, ...) is reported even before the head is
// complete; a field value (Content-Length, Transfer-Encoding, ...) is judged when its line is
// complete; a missing Host field when the head is. Bytes after the head are not looked at.
//
// Each call scans buf from its start: a caller that parses a head arriving in pieces uses a
// RequestParser, which resumes where the previous call stopped.
//
// ParseRequestHead does not allocate unless it returns an *Error. On error, h is unspecified.
func ParseRequestHead(buf []byte, h *RequestHead) error {
	var p RequestParser
	return p.Parse(buf, h)
}

// RequestParser parses one request head that arrives in pieces, keeping its position between
// calls so that the work over all calls is linear in the size of the head, however small the
// pieces. The zero value is ready to use. A RequestParser is not safe for concurrent use.
type RequestParser struct{ s headScanner }

// Parse parses the request head at the start of buf into h, with the results of ParseRequestHead
// on the same bytes: ErrIncomplete, an *Error as early as ParseRequestHead reports it, or nil with
// h filled in, its slices pointing into this buf.
//
// Until it returns something other than ErrIncomplete, each call must be given a buf that starts
// at the first byte of the same head and holds at least the bytes of the previous call, unchanged.
// The buf may have moved or grown in between (the parser keeps offsets, not slices): the bytes of a
// [Reader] filled, compacted or grown again are fine. Each call resumes after the last complete
// line the previous calls accepted, and within the incomplete line after the bytes they validated.
// It panics if buf is shorter than the bytes already validated.
//
// A call after one that returned nil or an *Error starts a new head. To give up on a head that is
// still incomplete, and parse another, call Reset first.
//
// Parse does not allocate unless it returns an *Error. On error, h is unspecified.
func (p *RequestParser) Parse(buf []byte, h *RequestHead) error {
	n, err := p.s.parse(buf, sideRequest)
	if err != nil {
		return err
	}
	facts, start := &p.s.facts, &p.s.start
	if facts.version == HTTP11 && facts.hosts == 0 {
		return newError(400, "HTTP/1.1 request without Host field", buf, n)
	}
	*h = RequestHead{
		Method:         buf[:start.methodEnd],
		Target:         buf[start.methodEnd+1 : start.targetEnd],
		TargetStart:    start.methodEnd + 1,
		Version:        facts.version,
		Len:            n,
		Close:          facts.closes(),
		Upgrade:        facts.version == HTTP11 && facts.upgrade && facts.connUpgrade,
		H2C:            facts.h2c,
		ExpectContinue: facts.expect,
	}
	switch {
	case facts.chunked:
		h.Body = Framing{Kind: BodyChunked}
	case facts.hasLength:
		h.Body = lengthFraming(facts.contentLength)
	}
	return nil
}

// Reset makes p start a new head at the next call of Parse.
func (p *RequestParser) Reset() { p.s = headScanner{} }

// requestLine parses METHOD SP request-target SP HTTP-version CRLF (RFC 9112 §3), resuming after
// the method and the request-target when earlier calls saw them end and after the bytes of an
// incomplete one they validated. On success it records the version and returns the offset of the
// line after it. The fixed-size rest of the line (at most 10 bytes) is read again by each call.
func (s *headScanner) requestLine(buf []byte) (int, error) {
	line, start := &s.line, &s.start
	if start.methodEnd == 0 {
		i := line.checked
		for i < len(buf) && byteClass[buf[i]]&classToken != 0 {
			i++
		}
		line.scanned += i - line.checked
		line.checked = i
		switch {
		case i == len(buf):
			return 0, ErrIncomplete
		case i == 0 && (buf[0] == '\r' || buf[0] == '\n'):
			return 0, newError(400, "empty line before request line", buf, 0)
		case buf[i] != ' ' || i == 0:
			return 0, newError(400, "invalid byte in method", buf, i)
		}
		start.methodEnd = i
		line.checked = i + 1
	}
	if start.targetEnd == 0 {
		i := skipClass(buf, line.checked, classTarget, '!')
		line.scanned += i - line.checked
		line.checked = i
		switch {
		case i == len(buf):
			return 0, ErrIncomplete
		case i == start.methodEnd+1:
			return 0, newError(400, "empty request-target", buf, i)
		case buf[i] != ' ':
			return 0, newError(400, "invalid byte in request-target", buf, i)
		}
		start.targetEnd = i
		line.checked = i + 1
	}
	i := start.targetEnd + 1
	v, supported, err := parseVersion(buf, i, 400)
	if err != nil {
		return 0, err
	}
	i += versionLen
	if err := startLineEnd(buf, i, 400, "invalid byte after HTTP version"); err != nil {
		return 0, err
	}
	if !supported {
		return 0, newError(505, "unsupported HTTP version", buf, i-versionLen)
	}
	s.facts.side, s.facts.version = sideRequest, v // the facts are zero until the start line is accepted
	return i + 2, nil
}
