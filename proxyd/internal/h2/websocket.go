package h2

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"proxyd.dev/proxyd/internal/tunnel"
)

// WebSocket over HTTP/2 (RFC 8441). proxyd advertises SETTINGS_ENABLE_CONNECT_PROTOCOL; a client
// opens a WebSocket with an extended CONNECT (:method CONNECT, :protocol websocket, :path), which
// is routed by its :path like any stream. proxyd forwards it to the backend as the HTTP/1.1
// handshake of RFC 6455 §4.1, on an HTTP/1.1 connection whatever the backend's other streams use:
// every WebSocket server takes that handshake, few take RFC 8441's. A 101 whose
// Sec-WebSocket-Accept matches proxyd's key is answered 200 on the stream, which then carries the
// WebSocket's bytes both ways (see h1Exchange); any other answer is relayed as it is, and no byte
// of the stream's body reaches the backend before its 101.

// protocolField is the key under which a request's Header holds the :protocol of an extended
// CONNECT, as net/http's HTTP/2 server and client keep it.
const protocolField = ":protocol"

// websocketGUID is what a WebSocket key is hashed with into its accept value (RFC 6455 §1.3).
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

var (
	// errUnsupportedProtocol is an extended CONNECT for another protocol than WebSocket: answered
	// 501.
	errUnsupportedProtocol = errors.New("extended CONNECT protocol other than websocket")
	// errWebSocketRefused is a 101 that is not a WebSocket handshake's answer to proxyd's key:
	// answered 502.
	errWebSocketRefused = errors.New("backend's 101 is not a WebSocket handshake answer for proxyd's key")
)

// extendedProtocol returns the :protocol of an extended CONNECT request, "" for any other request.
func extendedProtocol(r *http.Request) string {
	if v := r.Header[protocolField]; r.Method == http.MethodConnect && len(v) == 1 {
		return v[0]
	}
	return ""
}

// websocketHandshake turns req, the upstream request of an extended CONNECT for a WebSocket, into
// the HTTP/1.1 handshake (RFC 6455 §4.1, RFC 8441 §5): a GET asking to upgrade, with a new
// Sec-WebSocket-Key; its body, the WebSocket's bytes from the client, goes once the backend has
// switched. It returns the Sec-WebSocket-Accept the backend must answer with.
func websocketHandshake(req *http.Request) (accept string) {
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req.Method = http.MethodGet
	req.ContentLength = -1
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Key", key)
	return websocketAccept(key)
}

// websocketAccept returns the Sec-WebSocket-Accept value that answers key (RFC 6455 §4.2.2).
func websocketAccept(key string) string {
	sum := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// checkWebSocketSwitch checks the fields of a 101 answer to a handshake expecting accept: it must
// upgrade to websocket (RFC 6455 §4.1, the client's checks 2 to 4), and the fields that only the
// HTTP/1.1 handshake has go (RFC 8441 §5).
func checkWebSocketSwitch(h http.Header, accept string) error {
	if !httpguts.HeaderValuesContainsToken(h["Upgrade"], "websocket") ||
		!httpguts.HeaderValuesContainsToken(h["Connection"], "upgrade") ||
		len(h["Sec-Websocket-Accept"]) != 1 || h.Get("Sec-Websocket-Accept") != accept {
		return &invalidResponseError{errWebSocketRefused}
	}
	delete(h, "Sec-Websocket-Accept")
	return nil
}

// idleWatch closes a tunnel once no byte has moved through it either way for its limit: an
// upgraded stream has no per-request deadlines, only this one, as the HTTP/1.x engine's tunnels.
// Its methods are safe for concurrent use.
type idleWatch struct {
	limit time.Duration
	close func()           // ends the tunnel, from the timer's goroutine
	idle  tunnel.IdleClock // since a byte last moved

	mu      sync.Mutex
	timer   *time.Timer // fires when the tunnel would have been idle for limit at the earliest
	expired bool        // the watch closed the tunnel
	stopped bool        // the tunnel ended: the timer is not armed again
}

// watchIdle starts watching a tunnel whose bytes have just started to move.
func watchIdle(limit time.Duration, close func()) *idleWatch {
	w := &idleWatch{limit: limit, close: close}
	w.idle.Start()
	w.timer = time.AfterFunc(limit, w.check)
	return w
}

// moved records that bytes moved now.
func (w *idleWatch) moved() { w.idle.Moved() }

// check closes the tunnel when it has been idle for the limit, else looks again when it would be.
func (w *idleWatch) check() {
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	if left := w.limit - w.idle.IdleFor(); left > 0 {
		w.timer.Reset(left)
		w.mu.Unlock()
		return
	}
	w.expired = true
	w.mu.Unlock()
	w.close()
}

// stop stops watching, once the tunnel has ended.
func (w *idleWatch) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.timer.Stop()
}

// closedIdle reports whether the watch closed the tunnel.
func (w *idleWatch) closedIdle() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.expired
}
