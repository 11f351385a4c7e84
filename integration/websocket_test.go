package integration

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/coder/websocket"

	"proxyd.dev/integration/backend/api"
)

// largeMessageSize is the size of the large WebSocket message (1 MiB).
const largeMessageSize = 1 << 20

// TestWebSocketThroughProxy runs the WebSocket checks through a route of proxyd.
func TestWebSocketThroughProxy(t *testing.T) {
	t.Parallel()
	b := startBackend(t, api.ModeWS, "ws")
	// Nothing listens at the default backend: only the route is used.
	proxy := startProxy(t, freeAddr(t), "-r", "/ws="+b.addr, "--rewrite")
	checkWebSocket(t, "ws://"+proxy+"/ws/echo")
}

// checkWebSocket checks echoes of text, binary and large messages, and a close started by either
// side, against the WebSocket echo at url.
func checkWebSocket(t *testing.T, url string) {
	large, err := io.ReadAll(api.Payload(largeMessageSize))
	if err != nil {
		t.Fatalf("making the large message: %v", err)
	}
	echoes := []struct {
		name string
		typ  websocket.MessageType
		msg  []byte
	}{
		{"text", websocket.MessageText, []byte("hello through proxyd")},
		{"binary", websocket.MessageBinary, []byte{0, 1, 2, 0xfe, 0xff, '\r', '\n'}},
		{"1 MiB binary", websocket.MessageBinary, large},
		{"1 MiB text", websocket.MessageText, bytes.Repeat([]byte("x"), largeMessageSize)},
	}
	for _, tc := range echoes {
		t.Run("echo "+tc.name, func(t *testing.T) {
			ctx, c := dialWebSocket(t, url)
			defer c.CloseNow()
			if err := c.Write(ctx, tc.typ, tc.msg); err != nil {
				t.Fatalf("writing a %d-byte %v message: %v", len(tc.msg), tc.typ, err)
			}
			typ, got, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("reading the echo of a %d-byte %v message: %v", len(tc.msg), tc.typ, err)
			}
			if typ != tc.typ || !bytes.Equal(got, tc.msg) {
				t.Errorf("echo is a %d-byte %v message, want the %d-byte %v message sent", len(got), typ, len(tc.msg), tc.typ)
			}
		})
	}
	t.Run("client closes", func(t *testing.T) {
		_, c := dialWebSocket(t, url)
		defer c.CloseNow()
		// Close returns nil only once the server's close frame has come back.
		if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Errorf("closing handshake started by the client: %v", err)
		}
	})
	t.Run("server closes", func(t *testing.T) {
		ctx, c := dialWebSocket(t, url)
		defer c.CloseNow()
		if err := c.Write(ctx, websocket.MessageText, []byte(api.CloseMe)); err != nil {
			t.Fatalf("writing %q: %v", api.CloseMe, err)
		}
		_, msg, err := c.Read(ctx)
		if got := websocket.CloseStatus(err); got != websocket.StatusNormalClosure {
			t.Errorf("read after %q: message %q, error %v; want the server's close with status %v", api.CloseMe, msg, err, websocket.StatusNormalClosure)
		}
	})
}

// dialWebSocket opens a WebSocket to url that accepts messages up to api.MaxMessageSize, and
// returns it with the context that bounds the test's use of it.
func dialWebSocket(t *testing.T, url string) (context.Context, *websocket.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	t.Cleanup(cancel)
	c, resp, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("WebSocket handshake with %s: %v (response %v)", url, err, resp)
	}
	c.SetReadLimit(api.MaxMessageSize)
	return ctx, c
}
