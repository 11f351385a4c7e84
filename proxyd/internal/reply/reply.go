// Package reply holds what proxyd says in the answers it writes itself, over HTTP/1.x and HTTP/2
// alike: their body text, the methods a 405 allows, and the status logged for a client that left.
package reply

import (
	"errors"
	"fmt"
	"net/http"
)

// StatusClientClosed is logged for a client that went away, or stopped reading, before its
// response was complete (nginx's 499).
const StatusClientClosed = 499

// AllowedMethods is the Allow field of the 405 answer to CONNECT: the methods proxyd forwards.
const AllowedMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE"

// ErrConnect is a CONNECT request while tunnelling is not allowed (--allow-connect).
var ErrConnect = errors.New("CONNECT is not allowed: proxyd is a reverse proxy (see --allow-connect)")

// Body returns the short text body of proxyd's own answer with this status: "502 Bad Gateway\n".
func Body(status int) string {
	return fmt.Sprintf("%d %s\n", status, http.StatusText(status))
}
