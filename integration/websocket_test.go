package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/coder/websocket"
	"golang.org/x/net/http2"

	"proxyd.dev/integration/backend/api"
)

// largeMessageSize is the size of the large WebSocket message (1 MiB).
const largeMessageSize = 1 << 20

// TestWebSocketThroughProxy runs the WebSocket checks through a route of proxyd, with and without
// ring loops (whose loop hands the upgrade to a goroutine).
func TestWebSocketThroughProxy(t *testing.T) {
	t.Parallel()
	b := startBackend(t, api.ModeWS, "ws")
	for _, ringLoops := range []bool{false, true} {
		t.Run(fmt.Sprintf("ring-loops=%v", ringLoops), func(t *testing.T) {
			t.Parallel()
			// Nothing listens at the default backend: only the route is used.
			proxy := startProxyLoops(t, ringLoops, freeAddr(t), "-r", "/ws="+b.addr, "--rewrite")
			checkWebSocket(t, "ws://"+proxy+"/ws/echo")
		})
	}
}

// TestWebSocketOverHTTP2ThroughProxy opens a WebSocket over HTTP/2 (RFC 8441 extended CONNECT)
// through a route of proxyd to the WebSocket backend, which speaks HTTP/1.1 only: proxyd makes the
// handshake and answers 200, a message is echoed, and a close started by the server ends the
// stream.
func TestWebSocketOverHTTP2ThroughProxy(t *testing.T) {
	t.Parallel()
	b := startBackend(t, api.ModeWS, "ws")
	proxy := startProxy(t, freeAddr(t), "-r", "/ws="+b.addr, "--rewrite")
	body, up := io.Pipe()
	defer up.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodConnect, "http://"+proxy+"/ws/echo", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(":protocol", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	// net/http's Transport refuses the ":protocol" key that its HTTP/2 code takes; x/net's does not.
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("extended CONNECT: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("extended CONNECT answered %s %d, want HTTP/2 200", resp.Proto, resp.StatusCode)
	}
	down := bufio.NewReader(resp.Body)
	const opText, opClose = 1, 8
	for _, msg := range []string{"hello over HTTP/2", api.CloseMe} {
		if err := writeClientFrame(up, opText, []byte(msg)); err != nil {
			t.Fatalf("writing %q: %v", msg, err)
		}
	}
	if op, got, err := readServerFrame(down); op != opText || string(got) != "hello over HTTP/2" || err != nil {
		t.Errorf("echo: opcode %d %q, %v; want a text frame %q", op, got, err, "hello over HTTP/2")
	}
	op, got, err := readServerFrame(down)
	if op != opClose || len(got) < 2 || binary.BigEndian.Uint16(got) != uint16(websocket.StatusNormalClosure) || err != nil {
		t.Fatalf("after %q: opcode %d %q, %v; want a close frame with status 1000", api.CloseMe, op, got, err)
	}
	writeClientFrame(up, opClose, got[:2])
	if rest, err := io.ReadAll(down); len(rest) > 0 || err != nil {
		t.Errorf("after the close frames: %q, %v; want the end of the stream", rest, err)
	}
}

// writeClientFrame writes one unfragmented WebSocket frame of a client (masked, RFC 6455 §5.2) with
// opcode op and payload p, shorter than 126 bytes.
func writeClientFrame(w io.Writer, op byte, p []byte) error {
	mask := [4]byte{0x12, 0x34, 0x56, 0x78}
	frame := append([]byte{0x80 | op, 0x80 | byte(len(p))}, mask[:]...)
	for i, c := range p {
		frame = append(frame, c^mask[i%4])
	}
	_, err := w.Write(frame)
	return err
}

// readServerFrame reads one unfragmented WebSocket frame of a server (unmasked), with a payload
// shorter than 126 bytes, and returns its opcode and payload.
func readServerFrame(r *bufio.Reader) (op byte, p []byte, err error) {
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	p = make([]byte, head[1]&0x7f)
	_, err = io.ReadFull(r, p)
	return head[0] & 0x0f, p, err
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
