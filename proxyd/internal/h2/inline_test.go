package h2

import (
	"errors"
	"net/http"
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
