package h2

import (
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/routetest"
)

// The streams of these tests after the first start on their connection's reader
// (Server.startInline): the first one found the backend to speak h2c and left a connection open.

// TestInlineStreamRefusedIsRetried sends a stream the backend refuses unprocessed (REFUSED_STREAM,
// RFC 9113 §8.7) once more, and the client gets the answer to the second one.
func TestInlineStreamRefusedIsRetried(t *testing.T) {
	be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		refused := false
		for {
			h, err := c.Request()
			if err != nil {
				return
			}
			if path := h.PseudoValue("path"); path == "/refuse" && !refused {
				refused = true
				c.Framer().WriteRSTStream(h.StreamID, http2.ErrCodeRefusedStream)
				continue
			}
			c.Respond(h.StreamID, "ok "+h.PseudoValue("path"))
		}
	})
	p := startProxy(t, testConfig(t, routetest.Table(t, be.Addr())))
	c := newClient(t)
	for _, path := range []string{"/first", "/refuse"} {
		if resp, body := get(t, c, p, path); resp.StatusCode != http.StatusOK || body != "ok "+path {
			t.Errorf("GET %s: %d %q, want 200 %q", path, resp.StatusCode, body, "ok "+path)
		}
	}
}

// TestInlineStreamBackendGone answers 502 when the backend's connection closes before the head of
// a stream started on the reader, and the next stream is served on a new connection.
func TestInlineStreamBackendGone(t *testing.T) {
	be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		for {
			h, err := c.Request()
			if err != nil {
				return
			}
			if h.PseudoValue("path") == "/close" {
				c.Conn().Close()
				return
			}
			c.Respond(h.StreamID, "ok")
		}
	})
	p := startProxy(t, testConfig(t, routetest.Table(t, be.Addr())))
	c := newClient(t)
	getOK := func() {
		t.Helper()
		if resp, body := get(t, c, p, "/x"); resp.StatusCode != http.StatusOK || body != "ok" {
			t.Fatalf("GET /x: %d %q, want 200 %q", resp.StatusCode, body, "ok")
		}
	}
	getOK()
	resp, body := get(t, c, p, "/close")
	checkAnswer(t, resp, body, http.StatusBadGateway)
	getOK()
}

// TestBackendCancelResetsStream resets the client's stream with CANCEL when an h2c backend resets
// it so before its response head (gRPC servers do once a call's deadline passes), for a stream
// started on a handler (the first, which probes the backend) and for one started on the
// connection's reader; another reset code is answered 502; the connection serves on.
func TestBackendCancelResetsStream(t *testing.T) {
	be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		for {
			h, err := c.Request()
			if err != nil {
				return
			}
			switch h.PseudoValue("path") {
			case "/cancel":
				c.Framer().WriteRSTStream(h.StreamID, http2.ErrCodeCancel)
			case "/internal":
				c.Framer().WriteRSTStream(h.StreamID, http2.ErrCodeInternal)
			default:
				c.Respond(h.StreamID, "ok")
			}
		}
	})
	p := startProxy(t, testConfig(t, routetest.Table(t, be.Addr())))
	c := newClient(t)
	for _, path := range []string{"/cancel", "/ok", "/cancel", "/internal", "/ok"} {
		switch path {
		case "/cancel":
			resp, err := c.Do(newGet(t, p, path))
			var se http2.StreamError
			if !errors.As(err, &se) || se.Code != http2.ErrCodeCancel {
				if err == nil {
					resp.Body.Close()
				}
				t.Fatalf("GET %s: %v, want the stream reset with CANCEL", path, err)
			}
		case "/internal":
			resp, body := get(t, c, p, path)
			checkAnswer(t, resp, body, http.StatusBadGateway)
		default:
			if resp, body := get(t, c, p, path); resp.StatusCode != http.StatusOK || body != "ok" {
				t.Fatalf("GET %s: %d %q, want 200 \"ok\"", path, resp.StatusCode, body)
			}
		}
	}
}

// TestBurstWaitsForADialWithoutGoroutines sends a burst of streams to an h2c backend whose one
// connection has gone away (GOAWAY), or that proxyd has not probed yet: they wait for the probe
// and the connection dialled for them without a goroutine each (backend.awaitProtocol,
// h2upstream.Transport.AwaitRoom), and are all answered once it is open; or the client leaves
// while they wait, and the connection ends once the dial has, leaking nothing (the proxy's
// cleanup checks that it drains, TestMain that no goroutine is left).
func TestBurstWaitsForADialWithoutGoroutines(t *testing.T) {
	for _, tc := range []struct {
		name         string
		probed, left bool
	}{
		{"gone away", true, false},
		{"gone away, client leaves", true, true},
		{"not probed", false, false},
		{"not probed, client leaves", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) { testBurstWaitsForADial(t, tc.probed, tc.left) })
	}
}

func testBurstWaitsForADial(t *testing.T, probed, leave bool) {
	be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		for {
			h, err := c.Request()
			if err != nil {
				return
			}
			if h.PseudoValue("path") == "/first" {
				// Gone away before the response: the proxy has seen it once the client has that.
				c.Framer().WriteGoAway(h.StreamID, http2.ErrCodeNo, nil)
			}
			c.Respond(h.StreamID, "ok")
		}
	})
	// The backend's connections pass through a relay that holds the new ones once gated is set,
	// until release is closed.
	var gated atomic.Bool
	release := make(chan struct{})
	relay := h2test.Listen(t, func(nc net.Conn, _ int) {
		if gated.Load() {
			<-release
		}
		up, err := net.Dial("tcp", be.Addr())
		if err != nil {
			nc.Close()
			return
		}
		go func() {
			io.Copy(up, nc)
			up.Close()
		}()
		io.Copy(nc, up)
		nc.Close()
	})
	p := startProxy(t, testConfig(t, routetest.Table(t, relay.Addr())))
	c := h2test.Dial(t, p.addr, waitLimit)
	if probed {
		c.Get(1, "/first")
		if status, body := c.Response(); status != "200" || string(body) != "ok" {
			t.Fatalf("GET /first: %s %q, want 200 ok", status, body)
		}
	}
	gated.Store(true)
	released := sync.OnceFunc(func() { close(release) })
	t.Cleanup(released) // before the proxy's cleanup, which waits for the streams

	const n = 32
	before := runtime.NumGoroutine()
	for i := range n {
		c.Get(uint32(3+2*i), "/burst")
	}
	// The reader handles frames in order: once the PING is acknowledged, every stream of the
	// burst has been dispatched.
	if err := c.Framer().WritePing(false, [8]byte{1}); err != nil {
		t.Fatal(err)
	}
	for {
		if ping, ok := c.Next().(*http2.PingFrame); ok && ping.IsAck() {
			break
		}
	}
	if extra := runtime.NumGoroutine() - before; extra >= n/4 {
		t.Errorf("%d more goroutines while %d streams wait for a backend connection, want fewer than %d", extra, n, n/4)
	}
	if leave {
		c.Close()
		return
	}
	released()
	ended, ok := 0, 0
	for ended < n {
		switch f := c.Next().(type) {
		case *http2.MetaHeadersFrame:
			if f.PseudoValue("status") == "200" {
				ok++
			}
			if f.StreamEnded() {
				ended++
			}
		case *http2.DataFrame:
			if f.StreamEnded() {
				ended++
			}
		case *http2.RSTStreamFrame:
			ended++
		}
	}
	if ok != n {
		t.Errorf("%d of %d streams answered 200", ok, n)
	}
}
