package wire

// Version is an HTTP/1.x version.
type Version uint8

// The HTTP versions this package reads.
const (
	HTTP10 Version = 10 // HTTP/1.0
	HTTP11 Version = 11 // HTTP/1.1
)

// String returns the version as written on the wire, e.g. "HTTP/1.1".
func (v Version) String() string {
	switch v {
	case HTTP10:
		return "HTTP/1.0"
	case HTTP11:
		return "HTTP/1.1"
	}
	return "HTTP/?"
}

// BodyKind says how a message body is delimited.
type BodyKind uint8

// The ways a body is delimited (RFC 9112 §6.3).
const (
	BodyNone       BodyKind = iota // no body
	BodyLength                     // exactly Framing.Length bytes
	BodyChunked                    // chunked transfer coding
	BodyUntilClose                 // responses only: until the sender closes
)

// String returns the kind's name, e.g. "chunked".
func (k BodyKind) String() string {
	switch k {
	case BodyNone:
		return "none"
	case BodyLength:
		return "length"
	case BodyChunked:
		return "chunked"
	case BodyUntilClose:
		return "until-close"
	}
	return "invalid"
}

// Framing is how one message body is delimited.
type Framing struct {
	Kind   BodyKind
	Length int64 // for BodyLength: the number of body bytes, > 0
}

// lengthFraming returns the framing of a body of n bytes: BodyNone for 0.
func lengthFraming(n int64) Framing {
	if n == 0 {
		return Framing{}
	}
	return Framing{Kind: BodyLength, Length: n}
}

// versionLen is the length of an HTTP-version: "HTTP/" DIGIT "." DIGIT.
const versionLen = len("HTTP/1.1")

// parseVersion parses the HTTP-version at buf[i:]. It returns ErrIncomplete when buf ends inside
// a valid beginning, an *Error with the given status when the bytes are not an HTTP-version, and
// supported == false for a well-formed version other than HTTP/1.0 and HTTP/1.1.
func parseVersion(buf []byte, i, status int) (v Version, supported bool, err error) {
	const pattern = "HTTP/0.0" // '0' stands for any digit
	for k := range versionLen {
		if i+k == len(buf) {
			return 0, false, ErrIncomplete
		}
		c := buf[i+k]
		if pattern[k] == '0' && c-'0' > 9 || pattern[k] != '0' && c != pattern[k] {
			return 0, false, newError(status, "malformed HTTP version", buf, i+k)
		}
	}
	switch string(buf[i+5 : i+versionLen]) {
	case "1.0":
		return HTTP10, true, nil
	case "1.1":
		return HTTP11, true, nil
	}
	return 0, false, nil
}
