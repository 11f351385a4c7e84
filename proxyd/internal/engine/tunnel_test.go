package engine

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/routetest"
)

// An upgrade to a made-up protocol, answered 101 by a scripted backend.
const (
	upgradeRequest  = "GET /tunnel HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: test-protocol\r\n\r\n"
	upgradeResponse = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test-protocol\r\n\r\n"
)

// openTunnel upgrades client's connection through the proxy to a connection of be, checks that
// bytes pass both ways, and returns the backend's end.
func openTunnel(t *testing.T, client *peer, be *scriptedBackend) *peer {
	t.Helper()
	return relayHops(t, be, client, []hop{
		{up: true, data: upgradeRequest},
		{data: upgradeResponse + "from backend"},
		{up: true, data: "from client"},
	})
}

// TestTunnelHalfClose passes each side's half-close on: the client stops sending and still
// receives, then the backend closes and the client sees the end.
func TestTunnelHalfClose(t *testing.T) {
	be, c := viaScripted(t)
	b := openTunnel(t, c, be)

	c.conn.CloseWrite()
	b.expectEOF()
	b.send("still talking")
	if diff := cmp.Diff("still talking", c.readN(len("still talking"))); diff != "" {
		t.Errorf("client read after its half-close (-want +got):\n%s", diff)
	}
	b.conn.Close()
	c.expectEOF()
}

// maxMessage is the largest WebSocket message the tests exchange.
const maxMessage = 1 << 20

// startWebSocket starts a net/http WebSocket backend that echoes every message; after
// closeAfter messages (0: never) it closes the connection itself with StatusGoingAway. Every
// handler's end is reported on the returned channel: the close status it saw from the client, or
// -1 when it closed first.
func startWebSocket(t *testing.T, closeAfter int) (addr string, ended <-chan websocket.StatusCode) {
	end := make(chan websocket.StatusCode, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			t.Errorf("websocket.Accept: %v", err)
			end <- -1
			return
		}
		conn.SetReadLimit(maxMessage)
		ctx := r.Context()
		for n := 1; ; n++ {
			typ, msg, err := conn.Read(ctx)
			if err != nil {
				end <- websocket.CloseStatus(err)
				return
			}
			if err := conn.Write(ctx, typ, msg); err != nil {
				t.Errorf("echo: %v", err)
			}
			if n == closeAfter {
				conn.Close(websocket.StatusGoingAway, "server leaves")
				end <- -1
				return
			}
		}
	}))
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), end
}

// dialWebSocket opens a WebSocket through the proxy with its own HTTP client.
func dialWebSocket(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: &http.Client{Transport: transport}})
	if err != nil {
		t.Fatalf("websocket.Dial: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Errorf("status %d, want 101", resp.StatusCode)
	}
	t.Cleanup(func() { conn.CloseNow() })
	conn.SetReadLimit(maxMessage)
	return conn
}

// echo sends msg and checks that the same message comes back.
func echo(t *testing.T, conn *websocket.Conn, typ websocket.MessageType, msg []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := conn.Write(ctx, typ, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	gotType, got, err := conn.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if gotType != typ || !bytes.Equal(got, msg) {
		t.Errorf("echo: got %v message of %d bytes, want %v of %d", gotType, len(got), typ, len(msg))
	}
}

// webSocketProxy starts a backend as startWebSocket does, behind the route /ws of a proxy, and
// opens a WebSocket to it through the proxy.
func webSocketProxy(t *testing.T, closeAfter int) (*websocket.Conn, <-chan websocket.StatusCode) {
	addr, ended := startWebSocket(t, closeAfter)
	p := startProxy(t, testConfig(t, routetest.Table(t, loopback.ClosedAddr(t), "/ws="+addr)))
	return dialWebSocket(t, "ws://"+p.addr+"/ws/echo"), ended
}

// TestWebSocketClientCloses echoes text and binary messages through the proxy, then closes from
// the client: the backend sees the client's close status.
func TestWebSocketClientCloses(t *testing.T) {
	conn, ended := webSocketProxy(t, 0)
	echo(t, conn, websocket.MessageText, []byte("hello through the proxy"))
	binary := make([]byte, 200<<10)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	echo(t, conn, websocket.MessageBinary, binary)

	if err := conn.Close(websocket.StatusNormalClosure, "client done"); err != nil {
		t.Errorf("close: %v", err)
	}
	if status := <-ended; status != websocket.StatusNormalClosure {
		t.Errorf("backend saw close status %v, want %v", status, websocket.StatusNormalClosure)
	}
}

// TestWebSocketServerCloses lets the backend close after one echo: the client receives the
// backend's close status.
func TestWebSocketServerCloses(t *testing.T) {
	conn, ended := webSocketProxy(t, 1)
	echo(t, conn, websocket.MessageText, []byte("last words"))
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	_, _, err := conn.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway || ce.Reason != "server leaves" {
		t.Errorf("read after the backend's close: %v, want close %v %q", err, websocket.StatusGoingAway, "server leaves")
	}
	<-ended
}

// TestH2CUpgradeStripped forwards a request asking to upgrade to h2c without the upgrade, and the
// connection goes on over HTTP/1.1; a backend that switches protocols anyway gets a 502.
func TestH2CUpgradeStripped(t *testing.T) {
	const settings = "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"
	for _, tc := range []struct{ name, req, forwarded string }{{
		name:      "GET",
		req:       "GET /h2 HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" + settings + "Accept: */*\r\n\r\n",
		forwarded: "GET /h2 HTTP/1.1\r\nHost: example.test\r\nAccept: */*\r\n\r\n",
	}, {
		name:      "POST with body",
		req:       "POST /h2 HTTP/1.1\r\nHost: example.test\r\n" + settings + "Upgrade: h2c\r\nContent-Length: 5\r\nConnection: HTTP2-Settings, Upgrade\r\n\r\nhello",
		forwarded: "POST /h2 HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nhello",
	}, {
		name:      "h2c among other upgrades",
		req:       "GET /h2 HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: websocket, h2c\r\n" + settings + "\r\n",
		forwarded: "GET /h2 HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			be, c := viaScripted(t)
			c.send(tc.req)
			b := be.next()
			serveOne(t, c, b, tc.forwarded, followUpResp)
			c.send(followUp)
			serveOne(t, c, b, followUp, followUpResp)
		})
	}
	t.Run("backend switches anyway", func(t *testing.T) {
		be, c := viaScripted(t)
		c.send("GET /h2 HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" + settings + "\r\n")
		b := be.next()
		b.request()
		b.send("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
		if diff := cmp.Diff(answer(502, false), c.response(false)); diff != "" {
			t.Errorf("answer (-want +got):\n%s", diff)
		}
		b.expectEOF()
	})
}

// TestTunnelIsNotBusy counts a busy keep-alive connection among the server's busy connections (the
// load the ring loops serve from) until it becomes a tunnel, which waits for no request, and a
// busy connection no more once it closed.
func TestTunnelIsNotBusy(t *testing.T) {
	echo, be := startEcho(t, "default"), startScripted(t)
	p := startProxy(t, testConfig(t, routetest.Table(t, echo.addr(), "/tunnel="+be.addr())))
	exchange := func(c *peer) {
		c.send(followUp)
		if diff := cmp.Diff(echoResponse("default", followUp), c.response(false)); diff != "" {
			t.Fatalf("client read (-want +got):\n%s", diff)
		}
	}
	c, d := dial(t, p.addr), dial(t, p.addr)
	// A connection is busy once a wait for its next request was brief, which a tick of the
	// sweeper within the wait may deny it: the exchanges go on until both are.
	for round := 0; p.srv.busy.Load() < 2; round++ {
		if round == 20 {
			t.Fatalf("%d busy connections after 20 rounds of keep-alive exchanges, want 2", p.srv.busy.Load())
		}
		exchange(c)
		exchange(d)
	}

	openTunnel(t, c, be)
	waitFor(t, "the tunnel's connection is not busy", func() bool { return p.srv.busy.Load() == 1 })
	d.conn.Close()
	waitFor(t, "no connection is busy", func() bool { return p.srv.busy.Load() == 0 })
}
