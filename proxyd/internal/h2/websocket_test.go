package h2

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/routetest"
)

// openWebSocket opens a WebSocket over HTTP/2 (RFC 8441: CONNECT with :protocol) to path on the
// proxy, its bytes to the backend written to the returned pipe, and returns the response (its head
// received); cleanup closes both.
func openWebSocket(t testing.TB, p *proxy, path, protocol string) (*http.Response, *io.PipeWriter) {
	t.Helper()
	body, w := io.Pipe()
	t.Cleanup(func() { w.Close() })
	req, err := http.NewRequest(http.MethodConnect, "http://"+p.addr+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(protocolField, protocol)
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Protocol", "chat")
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatalf("extended CONNECT %s: %v", path, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, w
}

// openRawWebSocket opens stream 1 of rc with an extended CONNECT for a WebSocket to /chat,
// ending the client's side with it when endStream is set.
func openRawWebSocket(rc *h2test.RawClient, endStream bool) {
	rc.Framer().WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, EndStream: endStream, BlockFragment: rc.Block(
		[2]string{":method", "CONNECT"}, [2]string{":protocol", "websocket"}, [2]string{":scheme", "http"},
		[2]string{":authority", "example.test"}, [2]string{":path", "/chat"}, [2]string{"sec-websocket-version", "13"})})
}

// handshake is a WebSocket handshake as a raw backend read it.
type handshake struct {
	RequestLine string
	Fields      textproto.MIMEHeader
}

// readHandshake reads a request head from c and returns it with the Sec-WebSocket-Accept that
// answers its key.
func readHandshake(c *rawConn) (handshake, string, bool) {
	head, ok := readHeadOnly(c)
	if !ok {
		return handshake{}, "", false
	}
	line, rest, _ := strings.Cut(head, "\r\n")
	fields, err := textproto.NewReader(bufio.NewReader(strings.NewReader(rest))).ReadMIMEHeader()
	if err != nil {
		return handshake{}, "", false
	}
	return handshake{line, fields}, websocketAccept(fields.Get("Sec-Websocket-Key")), true
}

// switchTo is a 101 answer to a WebSocket handshake with accept.
func switchTo(accept string) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
}

// startSwitching starts a backend that switches every WebSocket handshake, sends first and reads
// until the connection closes; closed is closed then.
func startSwitching(t testing.TB, first string) (be *rawBackend, closed <-chan struct{}) {
	done := make(chan struct{})
	be = startRaw(t, func(c *rawConn) {
		_, accept, ok := readHandshake(c)
		if !ok {
			return
		}
		c.send(switchTo(accept) + first)
		io.Copy(io.Discard, c.br)
		close(done)
	})
	return be, done
}

// TestWebSocketOverHTTP2 opens a WebSocket with an extended CONNECT routed and rewritten by its
// :path: the HTTP/1.1 backend gets the RFC 6455 handshake with a key of proxyd's, the client gets
// 200 without the handshake's own fields, bytes go both ways, and each side's end reaches the
// other (the client's END_STREAM as a half-close, the backend's close as END_STREAM).
func TestWebSocketOverHTTP2(t *testing.T) {
	got := make(chan handshake, 1)
	be := startRaw(t, func(c *rawConn) {
		hs, accept, ok := readHandshake(c)
		if !ok {
			return
		}
		got <- hs
		c.send(switchTo(accept))
		echoed, _ := io.ReadAll(c.br) // until the client's half-close
		c.send("echo:" + string(echoed))
		c.Close()
	})
	cfg := testConfig(t, routetest.Table(t, loopback.ClosedAddr(t), "/ws="+be.addr()))
	cfg.Rewrite = true
	p := startProxy(t, cfg)

	resp, w := openWebSocket(t, p, "/ws/chat?room=1", "websocket")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	hs := <-got
	key, _ := base64.StdEncoding.DecodeString(hs.Fields.Get("Sec-Websocket-Key"))
	want := handshake{"GET /chat?room=1 HTTP/1.1", textproto.MIMEHeader{
		"Host":                   {p.addr},
		"Connection":             {"Upgrade"},
		"Upgrade":                {"websocket"},
		"Sec-Websocket-Key":      {hs.Fields.Get("Sec-Websocket-Key")},
		"Sec-Websocket-Version":  {"13"},
		"Sec-Websocket-Protocol": {"chat"},
		"User-Agent":             hs.Fields["User-Agent"],
		"Accept-Encoding":        {"gzip"}, // net/http's client adds it
	}}
	if diff := cmp.Diff(want, hs); diff != "" || len(key) != 16 {
		t.Errorf("handshake (-want +got):\n%s\nkey of %d bytes, want 16", diff, len(key))
	}
	wantHead := http.Header{"Sec-Websocket-Protocol": {"chat"}}
	if diff := cmp.Diff(wantHead, resp.Header); diff != "" {
		t.Errorf("response fields (-want +got):\n%s", diff)
	}

	io.WriteString(w, "hello, ")
	io.WriteString(w, "world")
	w.Close()
	back, err := io.ReadAll(resp.Body)
	if err != nil || string(back) != "echo:hello, world" {
		t.Errorf("read %q, %v; want %q and the end", back, err, "echo:hello, world")
	}
}

// TestWebSocketRefused relays a backend's refusal of the handshake as it is, and never forwards
// the bytes the client sent ahead of the answer (the backend would read them as a request): the
// client's DATA has reached proxyd (its PING after them is acknowledged) before the backend
// answers, and after its answer the backend reads nothing but the connection's close. proxyd
// advertises SETTINGS_ENABLE_CONNECT_PROTOCOL.
func TestWebSocketRefused(t *testing.T) {
	answer, after := make(chan struct{}), make(chan string, 1)
	be := startRaw(t, func(c *rawConn) {
		if _, _, ok := readHandshake(c); !ok {
			return
		}
		<-answer
		c.send("HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\nno way")
		rest, _ := io.ReadAll(c.br)
		after <- string(rest)
	})
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))

	rc := h2test.Dial(t, p.addr, waitLimit)
	if got := rc.Settings()[http2.SettingEnableConnectProtocol]; got != 1 {
		t.Errorf("SETTINGS_ENABLE_CONNECT_PROTOCOL %d, want 1", got)
	}
	openRawWebSocket(rc, false)
	fr := rc.Framer()
	fr.WriteData(1, false, []byte("GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"))
	fr.WritePing(false, [8]byte{1})
	for {
		if ping, ok := rc.Next().(*http2.PingFrame); ok && ping.IsAck() {
			break
		}
	}
	close(answer)
	if status, body := rc.Response(); status != "403" || string(body) != "no way" {
		t.Errorf("answer %s %q, want 403 %q", status, body, "no way")
	}
	select {
	case rest := <-after:
		if rest != "" {
			t.Errorf("backend read %q after refusing, want nothing", rest)
		}
	case <-time.After(waitLimit):
		t.Fatal("proxyd kept the refused connection open")
	}
}

// TestWebSocketBadSwitch answers 502 when the backend switches without the accept value that
// answers proxyd's key, or to another protocol: it is not the WebSocket the client asked for.
func TestWebSocketBadSwitch(t *testing.T) {
	for name, answer := range map[string]func(accept string) string{
		"wrong accept": func(string) string { return switchTo(websocketAccept("another key")) },
		"no accept": func(string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
		},
		"other protocol": func(accept string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n"
		},
	} {
		t.Run(name, func(t *testing.T) {
			be := startRaw(t, func(c *rawConn) {
				if _, accept, ok := readHandshake(c); ok {
					c.send(answer(accept))
					io.Copy(io.Discard, c.br)
				}
			})
			p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
			resp, _ := openWebSocket(t, p, "/chat", "websocket")
			text, _ := io.ReadAll(resp.Body)
			checkAnswer(t, resp, string(text), http.StatusBadGateway)
		})
	}
}

// TestExtendedConnectOtherProtocol answers 501 to an extended CONNECT for another protocol than
// WebSocket, without reaching the backend.
func TestExtendedConnectOtherProtocol(t *testing.T) {
	be := startRaw(t, func(c *rawConn) { t.Errorf("backend reached") })
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
	resp, _ := openWebSocket(t, p, "/udp", "connect-udp")
	text, _ := io.ReadAll(resp.Body)
	checkAnswer(t, resp, string(text), http.StatusNotImplemented)
}

// TestWebSocketIdle ends a WebSocket once no byte has moved either way for the tunnel idle timeout:
// the backend's connection closes and the client's stream ends.
func TestWebSocketIdle(t *testing.T) {
	be, closed := startSwitching(t, "hi")
	cfg := testConfig(t, routetest.Table(t, be.addr()))
	cfg.TunnelIdleTimeout = 50 * time.Millisecond
	p := startProxy(t, cfg)
	start := time.Now()
	resp, _ := openWebSocket(t, p, "/chat", "websocket")
	back, err := io.ReadAll(resp.Body)
	if string(back) != "hi" || err != nil {
		t.Errorf("read %q, %v; want %q and the end", back, err, "hi")
	}
	within(t, closed, "the backend connection's close")
	if idle := time.Since(start); idle < cfg.TunnelIdleTimeout {
		t.Errorf("tunnel ended after %v, before its idle timeout %v", idle, cfg.TunnelIdleTimeout)
	}
}

// TestWebSocketClientReset closes the backend's connection when the client resets its stream
// (net/http's client sends RST_STREAM CANCEL when the response body is closed before its end).
func TestWebSocketClientReset(t *testing.T) {
	be, closed := startSwitching(t, "")
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
	resp, _ := openWebSocket(t, p, "/chat", "websocket")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	resp.Body.Close()
	within(t, closed, "the backend connection's close")
}

// TestWebSocketClientEndsFirst half-closes the backend's connection at once when the client's
// extended CONNECT ends its side of the stream (END_STREAM on its HEADERS): the backend reads the
// end right after the handshake, and what it sends then still reaches the client.
func TestWebSocketClientEndsFirst(t *testing.T) {
	be := startRaw(t, func(c *rawConn) {
		_, accept, ok := readHandshake(c)
		if !ok {
			return
		}
		c.send(switchTo(accept))
		rest, err := io.ReadAll(c.br)
		c.send("read " + strconv.Quote(string(rest)) + ", " + fmt.Sprint(err))
		c.Close()
	})
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
	rc := h2test.Dial(t, p.addr, waitLimit)
	rc.Settings()
	openRawWebSocket(rc, true)
	if status, body := rc.Response(); status != "200" || string(body) != `read "", <nil>` {
		t.Errorf("answer %s %q, want 200 %q", status, body, `read "", <nil>`)
	}
}
