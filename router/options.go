package router

import (
	"fmt"
	"strconv"
)

// Options tunes how a Table reads request paths. The zero value is the default: encoded slashes are
// kept (see Keep).
type Options struct {
	// EscapedSlashes says what an encoded slash ("%2F", "%2f") in a request path means for routing.
	EscapedSlashes EscapedSlashes
}

// check reports why o cannot configure a Table.
func (o Options) check() error {
	if o.EscapedSlashes > Decode {
		return fmt.Errorf("options: unknown EscapedSlashes value %d", uint8(o.EscapedSlashes))
	}
	return nil
}

// EscapedSlashes is what a Table does with an encoded slash ("%2F" or "%2f") in a request path,
// modelled on Envoy's path_with_escaped_slashes_action. Whatever the choice, an encoded slash ends a
// segment for the dot-segment check, and the path is forwarded with its escapes as sent.
type EscapedSlashes uint8

const (
	// Keep (the default) matches "%2F" as an ordinary character of its segment, written in upper
	// case: "/api%2Fx" is not below "/api". For backends that keep "%2F" apart from "/".
	Keep EscapedSlashes = iota
	// Reject answers a path containing "%2F" or "%2f" with a *PathError (ReasonEncodedSlash).
	Reject
	// Decode matches "%2F" as "/", also when it merges with a neighbouring "/": "/api%2Fx" and
	// "/%2F/api/x" are below "/api". For backends that decode "%2F" before they route.
	Decode
)

// ParseEscapedSlashes returns the EscapedSlashes named s: "keep", "reject" or "decode" (lower case,
// as String writes them). The error names s.
func ParseEscapedSlashes(s string) (EscapedSlashes, error) {
	for _, v := range [...]EscapedSlashes{Keep, Reject, Decode} {
		if s == v.String() {
			return v, nil
		}
	}
	return Keep, fmt.Errorf("escaped slashes %q: want keep, reject or decode", s)
}

// String returns the name ParseEscapedSlashes takes for e, or "EscapedSlashes(N)" for an unknown
// value.
func (e EscapedSlashes) String() string {
	switch e {
	case Keep:
		return "keep"
	case Reject:
		return "reject"
	case Decode:
		return "decode"
	}
	return "EscapedSlashes(" + strconv.Itoa(int(e)) + ")"
}
