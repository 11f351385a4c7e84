package wire

// ResponseHead holds the facts a proxy needs about one response head.
type ResponseHead struct {
	Version Version
	Status  int
	Len     int  // length of the whole head including the final CRLF CRLF
	Close   bool // "Connection: close", HTTP/1.0 without "Connection: keep-alive", or HTTP/1.0 with Transfer-Encoding (RFC 9112 §6.1)

	contentLength int64 // Content-Length, when hasLength
	hasLength     bool  // a Content-Length field is present
	encoded       bool  // a Transfer-Encoding field is present
	chunked       bool  // the final transfer coding is chunked
}

// ParseResponseHead parses the response head at the start of buf into h: the status line
// HTTP-version SP 3DIGIT [SP reason-phrase] CRLF (the reason, and the SP before it, may be missing)
// and the header fields under the same rules as requests (see ParseRequestHead). Transfer-Encoding
// may be any list of codings; several Content-Length fields must agree, and Content-Length never
// comes with Transfer-Encoding.
//
// It returns ErrIncomplete when buf holds the valid beginning of a head but not its end, and an
// *Error with Status 502 for a malformed head, as soon as the bytes seen prove it. It does not
// allocate unless it returns an *Error. On error, h is unspecified.
func ParseResponseHead(buf []byte, h *ResponseHead) error {
	*h = ResponseHead{}
	i, err := parseStatusLine(buf, h)
	if err != nil {
		return err
	}
	facts := headFacts{side: sideResponse, version: h.Version}
	if h.Len, err = facts.parseFields(buf, i); err != nil {
		return err
	}
	h.contentLength, h.hasLength = facts.contentLength, facts.hasLength
	h.encoded, h.chunked = facts.encodings > 0, facts.chunked
	h.Close = facts.closes() || h.Version == HTTP10 && h.encoded
	return nil
}

// parseStatusLine parses HTTP-version SP 3DIGIT [SP reason-phrase] CRLF into h and returns the
// offset of the line after it.
func parseStatusLine(buf []byte, h *ResponseHead) (int, error) {
	v, supported, err := parseVersion(buf, 0, 502)
	if err != nil {
		return 0, err
	}
	if !supported {
		return 0, newError(502, "unsupported HTTP version", buf, versionLen-1)
	}
	h.Version = v
	i := versionLen
	const codeLen = len(" 200")
	for k := range codeLen {
		if i+k == len(buf) {
			return 0, ErrIncomplete
		}
		c := buf[i+k]
		if k == 0 && c != ' ' || k == 1 && (c < '1' || c > '9') || k > 1 && c-'0' > 9 {
			return 0, newError(502, "malformed status code", buf, i+k)
		}
		if k > 0 {
			h.Status = h.Status*10 + int(c-'0')
		}
	}
	i += codeLen
	if i < len(buf) && buf[i] == ' ' {
		i = skipValue(buf, i)
	}
	if err := startLineEnd(buf, i, 502, "malformed status code"); err != nil {
		return 0, err
	}
	return i + 2, nil
}

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
	case h.encoded:
		return Framing{Kind: BodyUntilClose}
	case h.hasLength:
		return lengthFraming(h.contentLength)
	}
	return Framing{Kind: BodyUntilClose}
}
