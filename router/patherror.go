package router

import "fmt"

// Reasons a PathError gives for rejecting a request-target. The first ones concern its path, the
// last four the target as a whole.
const (
	// ReasonDotSegment: a segment is "." or "..", literal or percent-encoded ("%2e", ".%2E"), also
	// when a path parameter follows it ("..;", ".;x", "%2e%2e%3Bx"), which Tomcat strips before it
	// resolves dot segments. Segments end at "/", "%2F", "\" and "%5C" for this check.
	ReasonDotSegment = "dot segment"
	// ReasonEncodedNUL: the path contains "%00".
	ReasonEncodedNUL = "encoded NUL (%00)"
	// ReasonBadEscape: a "%" is not followed by two hexadecimal digits.
	ReasonBadEscape = `"%" not followed by two hex digits`
	// ReasonBackslash: a literal "\" in the path (or the authority of an absolute-form target), which
	// WHATWG URL parsers and Windows servers read as "/" and Tomcat refuses.
	ReasonBackslash = `backslash ("\")`
	// ReasonEncodedBackslash: "%5C" or "%5c" in the path, which a backend that decodes it may then
	// read as "/"; Tomcat and Spring Security's StrictHttpFirewall refuse it too.
	ReasonEncodedBackslash = "encoded backslash (%5C)"
	// ReasonEncodedSlash: "%2F" or "%2f" in the path of a Table built with EscapedSlashes Reject.
	ReasonEncodedSlash = "encoded slash (%2F)"
	// ReasonFragment: a "#" anywhere in the target. A request-target carries no fragment (RFC 9112
	// §3.2), and backends that cut one off anyway (nginx, WHATWG URL parsers) would take "/admin#x"
	// for "/admin", a path proxyd routes elsewhere.
	ReasonFragment = `fragment ("#")`
	// ReasonScheme: an absolute-form target whose scheme is not http or https (RFC 9112 §3.2.2),
	// such as "ws://h/x" or "ftp://h/x".
	ReasonScheme = "scheme is not http or https"
	// ReasonAuthority: the authority of an absolute-form target is not uri-host [ ":" port ] (RFC
	// 9110 §4.2.1, RFC 3986 §3.2.2): it is empty ("http:///x"), has userinfo, which RFC 9110 §4.2.4
	// says to treat as an error ("http://user@h/x"), or holds a byte no host has. HTTP/2's
	// :authority is held to the same rule.
	ReasonAuthority = "authority is not host[:port]"
	// ReasonMalformedTarget: a target in none of the four forms of RFC 9112 §3.2: not origin-form
	// ("/…"), absolute-form ("http://…"), authority-form ("host:port") or asterisk-form ("*"). Examples:
	// "foo", "http:/x", "http:x", "http//x", "://x", "".
	ReasonMalformedTarget = "not a valid request-target (RFC 9112 §3.2)"
)

// maxErrorPath is how many bytes of a rejected path a PathError keeps (128); a longer path is cut
// and marked with "...".
const maxErrorPath = 128

// PathError says why [Table.Match] or [Rewrite] rejected a request-target: backends could resolve it
// to a path other than the one it was routed by, or it is not a target proxyd can route.
type PathError struct {
	// Path is the rejected path (for Rewrite, the path after rewriting), or the whole target for
	// ReasonFragment, ReasonScheme, ReasonAuthority, ReasonMalformedTarget and a backslash in an
	// authority; cut to 128 bytes followed by "..." when it is longer.
	Path string
	// Offset is where in Path the problem starts: the "%" of a bad escape, the first byte of a dot
	// segment, the backslash, the "#", the authority, or 0 for another target-wide reason.
	Offset int
	// Reason is one of the Reason constants.
	Reason string
}

// Error names the path (quoted), where it went wrong and why.
func (e *PathError) Error() string {
	return fmt.Sprintf("router: bad path %q at byte %d: %s", e.Path, e.Offset, e.Reason)
}

// newPathError builds the error for path, keeping at most maxErrorPath bytes of it.
func newPathError(path []byte, offset int, reason string) *PathError {
	kept := string(path)
	if len(path) > maxErrorPath {
		kept = string(path[:maxErrorPath]) + "..."
	}
	return &PathError{Path: kept, Offset: offset, Reason: reason}
}
