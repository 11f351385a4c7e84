package router

import "fmt"

// Reasons a PathError gives for rejecting a path.
const (
	// ReasonDotSegment: a segment is "." or "..", literal or percent-encoded ("%2e", ".%2E").
	ReasonDotSegment = "dot segment"
	// ReasonEncodedNUL: the path contains "%00".
	ReasonEncodedNUL = "encoded NUL (%00)"
	// ReasonBadEscape: a "%" is not followed by two hexadecimal digits.
	ReasonBadEscape = `"%" not followed by two hex digits`
)

// maxErrorPath is how many bytes of a rejected path a PathError keeps (128); a longer path is cut
// and marked with "...".
const maxErrorPath = 128

// PathError says why [Table.Match] rejected a request path: backends could resolve it to a path
// other than the one it was routed by.
type PathError struct {
	// Path is the rejected path, cut to 128 bytes followed by "..." when it is longer.
	Path string
	// Offset is where in the path the problem starts: the "%" of a bad escape, or the first byte of a
	// dot segment.
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
