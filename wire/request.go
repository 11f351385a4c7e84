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
//   - an HTTP/1.1 request has exactly one Host field, any request at most one.

// RequestHead holds the facts a proxy needs about one request head. Its slices point into the
// buffer given to ParseRequestHead and are valid only until that buffer is modified or reused.
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
// Each call scans buf from its start. A caller reading a slow client in small pieces bounds its
// work by calling again only once the new bytes contain a LF or the head limit is reached.
//
// ParseRequestHead does not allocate unless it returns an *Error. On error, h is unspecified.
func ParseRequestHead(buf []byte, h *RequestHead) error {
	*h = RequestHead{}
	i, err := parseRequestLine(buf, h)
	if err != nil {
		return err
	}
	facts := headFacts{side: sideRequest, version: h.Version}
	n, err := facts.parseFields(buf, i)
	if err != nil {
		return err
	}
	if h.Version == HTTP11 && facts.hosts == 0 {
		return newError(400, "HTTP/1.1 request without Host field", buf, n)
	}
	h.Len = n
	switch {
	case facts.chunked:
		h.Body = Framing{Kind: BodyChunked}
	case facts.hasLength:
		h.Body = lengthFraming(facts.contentLength)
	}
	h.Close = facts.closes()
	h.Upgrade = h.Version == HTTP11 && facts.upgrade && facts.connUpgrade
	h.H2C = facts.h2c
	h.ExpectContinue = facts.expect
	return nil
}

// parseRequestLine parses METHOD SP request-target SP HTTP-version CRLF into h and returns the
// offset of the line after it.
func parseRequestLine(buf []byte, h *RequestHead) (int, error) {
	i := 0
	for i < len(buf) && byteClass[buf[i]]&classToken != 0 {
		i++
	}
	switch {
	case i == len(buf):
		return 0, ErrIncomplete
	case i == 0 && (buf[0] == '\r' || buf[0] == '\n'):
		return 0, newError(400, "empty line before request line", buf, 0)
	case buf[i] != ' ' || i == 0:
		return 0, newError(400, "invalid byte in method", buf, i)
	}
	h.Method = buf[:i]
	i++
	h.TargetStart = i
	i = skipClass(buf, i, classTarget, '!')
	switch {
	case i == len(buf):
		return 0, ErrIncomplete
	case i == h.TargetStart:
		return 0, newError(400, "empty request-target", buf, i)
	case buf[i] != ' ':
		return 0, newError(400, "invalid byte in request-target", buf, i)
	}
	h.Target = buf[h.TargetStart:i]
	i++
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
	h.Version = v
	return i + 2, nil
}
