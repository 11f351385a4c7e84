package wire

// ResponseHead holds the facts a proxy needs about one response head.
type ResponseHead struct {
	Version Version
	Status  int
	Len     int  // length of the whole head including the final CRLF CRLF
	Close   bool // "Connection: close", HTTP/1.0 without "Connection: keep-alive", or HTTP/1.0 with Transfer-Encoding (RFC 9112 §6.1)

	contentLength int64 // Content-Length, when hasLength
	hasLength     bool  // a Content-Length field is present
	codings       int   // how many transfer codings the Transfer-Encoding fields list; 0 without one
	chunked       bool  // the final transfer coding is chunked
}

// ParseResponseHead parses the response head at the start of buf into h: the status line
// HTTP-version SP 3DIGIT [SP reason-phrase] CRLF (the reason, and the SP before it, may be missing)
// and the header fields under the same rules as requests (see ParseRequestHead). Transfer-Encoding
// may be any list of codings; several Content-Length fields must agree, and Content-Length never
// comes with Transfer-Encoding.
//
// It returns ErrIncomplete when buf holds the valid beginning of a head but not its end, and an
// *Error with Status 502 for a malformed head, as soon as the bytes seen prove it. Each call scans
// buf from its start: a caller that parses a head arriving in pieces uses a ResponseParser. It does
// not allocate unless it returns an *Error. On error, h is unspecified.
func ParseResponseHead(buf []byte, h *ResponseHead) error {
	var p ResponseParser
	return p.Parse(buf, h)
}

// ResponseParser parses one response head that arrives in pieces, keeping its position between
// calls so that the work over all calls is linear in the size of the head, as RequestParser does
// for requests. The zero value is ready to use. A ResponseParser is not safe for concurrent use.
type ResponseParser struct{ s headScanner }

// Parse parses the response head at the start of buf into h, with the results of
// ParseResponseHead on the same bytes. Its calls follow the rules of RequestParser.Parse: until one
// returns something other than ErrIncomplete, each buf starts at the first byte of the same head
// and holds at least the bytes of the previous call, unchanged, wherever it now lies; a call after
// nil or an *Error starts a new head; Reset gives up on an incomplete one.
//
// Parse does not allocate unless it returns an *Error. On error, h is unspecified.
func (p *ResponseParser) Parse(buf []byte, h *ResponseHead) error {
	n, err := p.s.parse(buf, sideResponse)
	if err != nil {
		return err
	}
	facts := &p.s.facts
	*h = ResponseHead{
		Version:       facts.version,
		Status:        p.s.start.status,
		Len:           n,
		Close:         facts.closes() || facts.version == HTTP10 && facts.encodings > 0,
		contentLength: facts.contentLength,
		hasLength:     facts.hasLength,
		codings:       facts.codings,
		chunked:       facts.chunked,
	}
	return nil
}

// Reset makes p start a new head at the next call of Parse.
func (p *ResponseParser) Reset() { p.s = headScanner{} }

// statusLine parses HTTP-version SP 3DIGIT [SP reason-phrase] CRLF (RFC 9112 §4), resuming in the
// reason after the bytes earlier calls validated. On success it records the version and the status
// and returns the offset of the line after it. The fixed-size start of the line (12 bytes) is read
// again by each call until the line is complete.
func (s *headScanner) statusLine(buf []byte) (int, error) {
	v, supported, err := parseVersion(buf, 0, 502)
	if err != nil {
		return 0, err
	}
	if !supported {
		return 0, newError(502, "unsupported HTTP version", buf, versionLen-1)
	}
	i := versionLen
	const codeLen = len(" 200")
	status := 0
	for k := range codeLen {
		if i+k == len(buf) {
			return 0, ErrIncomplete
		}
		c := buf[i+k]
		if k == 0 && c != ' ' || k == 1 && (c < '1' || c > '9') || k > 1 && c-'0' > 9 {
			return 0, newError(502, "malformed status code", buf, i+k)
		}
		if k > 0 {
			status = status*10 + int(c-'0')
		}
	}
	i += codeLen
	if i < len(buf) && buf[i] == ' ' {
		from := max(i, s.line.checked)
		i = skipValue(buf, from)
		s.line.scanned += i - from
	}
	s.line.checked = i
	if err := startLineEnd(buf, i, 502, "malformed status code"); err != nil {
		return 0, err
	}
	s.start.status = status
	s.facts.side, s.facts.version = sideResponse, v // the facts are zero until the start line is accepted
	return i + 2, nil
}

// Coded reports whether a Transfer-Encoding field lists a transfer coding other than a single
// chunked (gzip, chunked; or chunked twice): the body is then encoded in a way that, once the
// chunked framing is taken off, only a recipient that knows the coding can read. No HTTP/1.0
// recipient is expected to know any (RFC 9112 §6.1).
func (h *ResponseHead) Coded() bool { return h.codings > 1 || h.codings == 1 && !h.chunked }

// Framing returns how the body of this response is delimited, given the method of the request it
// answers (RFC 9112 §6.3): none for HEAD, for 1xx, 204 and 304, and for 2xx to CONNECT; chunked when
// the final transfer coding is chunked; until close when Transfer-Encoding is present otherwise;
// Content-Length (BodyNone for 0); else until close.
func (h *ResponseHead) Framing(requestMethod []byte) Framing {
	switch {
	case string(requestMethod) == "HEAD",
		h.Status < 200, h.Status == 204, h.Status == 304,
		h.Status < 300 && string(requestMethod) == "CONNECT":
		return Framing{}
	case h.chunked:
		return Framing{Kind: BodyChunked}
	case h.codings > 0:
		return Framing{Kind: BodyUntilClose}
	case h.hasLength:
		return lengthFraming(h.contentLength)
	}
	return Framing{Kind: BodyUntilClose}
}
