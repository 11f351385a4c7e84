package engine

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/routetest"
)

// simpleGet is a body-less request: the connection may stay open after the proxy answers it.
const simpleGet = "GET /x HTTP/1.1\r\nHost: example.test\r\n\r\n"

// TestBackendRefuses answers 502 when the backend refuses the connection, and keeps the client
// connection usable for a request to another backend.
func TestBackendRefuses(t *testing.T) {
	up := startEcho(t, "up")
	p := startProxy(t, testConfig(t, routetest.Table(t, up.addr(), "/down="+loopback.ClosedAddr(t))))
	c := dial(t, p.addr)

	c.send("GET /down/x HTTP/1.1\r\nHost: example.test\r\n\r\n")
	if diff := cmp.Diff(answer(502, false), c.response(false)); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	c.send(simpleGet)
	if diff := cmp.Diff(echoResponse("up", simpleGet), c.response(false)); diff != "" {
		t.Errorf("next response (-want +got):\n%s", diff)
	}
}

// TestBackendFails answers for a backend that fails before its response head: 502 when it closes
// or answers nonsense, 504 when it stays silent past the response-header timeout. The client
// connection stays usable.
func TestBackendFails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fail   func(b *peer)
		status int
	}{
		{"closes after the head", func(b *peer) { b.conn.Close() }, 502},
		{"resets after the head", func(b *peer) { b.conn.SetLinger(0); b.conn.Close() }, 502},
		{"invalid response head", func(b *peer) { b.send("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n") }, 502},
		{"closes mid-head", func(b *peer) { b.send("HTTP/1.1 200 OK\r\nContent-"); b.conn.Close() }, 502},
		{"silent", func(*peer) {}, 504},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be, c := viaScripted(t, func(cfg *Config) { cfg.ResponseHeaderTimeout = 300 * time.Millisecond })
			c.send(simpleGet)
			b := be.next()
			b.request()
			tc.fail(b)
			if diff := cmp.Diff(answer(tc.status, false), c.response(false)); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}

			c.send(followUp)
			serveOne(t, c, be.next(), followUp, followUpResp)
		})
	}
}

// TestBackendDiesMidBody closes the client connection when the backend goes away in the middle
// of a response body: the client sees what was relayed, then the end of the connection.
func TestBackendDiesMidBody(t *testing.T) {
	for _, tc := range []struct{ name, partial string }{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nonly part\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be, c := viaScripted(t)
			c.send(simpleGet)
			b := be.next()
			b.request()
			b.send(tc.partial)
			if diff := cmp.Diff(tc.partial, c.readN(len(tc.partial))); diff != "" {
				t.Errorf("client read (-want +got):\n%s", diff)
			}
			b.conn.Close()
			c.expectEOF()
		})
	}
}

// TestRetryOnStaleConnection lets the backend close a pooled connection just as the proxy
// reuses it, after reading the next request: a body-less GET is sent again once, on a fresh
// connection, and succeeds; a POST is never sent twice and gets 502.
func TestRetryOnStaleConnection(t *testing.T) {
	const (
		first   = "GET /first HTTP/1.1\r\nHost: example.test\r\n\r\n"
		firstOK = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
		post    = "POST /second HTTP/1.1\r\nHost: example.test\r\nContent-Length: 4\r\n\r\ndata"
		get     = "GET /second HTTP/1.1\r\nHost: example.test\r\n\r\n"
		ok      = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"
	)
	for _, tc := range []struct {
		name      string
		second    string
		pipelined bool // both requests in one write: the backend connection is kept, not pooled
		retried   bool
	}{
		{name: "GET", second: get, retried: true},
		{name: "GET pipelined", second: get, pipelined: true, retried: true},
		{name: "POST", second: post},
		{name: "POST pipelined", second: post, pipelined: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be, c := viaScripted(t)
			if tc.pipelined {
				c.send(first + tc.second)
			} else {
				c.send(first)
			}
			stale := be.next()
			stale.request()
			stale.send(firstOK)
			if diff := cmp.Diff(firstOK, c.response(false)); diff != "" {
				t.Errorf("first response (-want +got):\n%s", diff)
			}
			if !tc.pipelined {
				c.send(tc.second)
			}
			if diff := cmp.Diff(tc.second, stale.request()); diff != "" {
				t.Errorf("backend read (-want +got):\n%s", diff)
			}
			stale.conn.Close()

			if !tc.retried {
				if diff := cmp.Diff(answer(502, true), c.response(false)); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
				c.expectEOF()
				if n := be.accepts(); n != 1 {
					t.Errorf("backend accepted %d connections, want 1: the request was sent again", n)
				}
				return
			}
			fresh := be.next()
			if diff := cmp.Diff(tc.second, fresh.request()); diff != "" {
				t.Errorf("backend read of the retry (-want +got):\n%s", diff)
			}
			fresh.send(ok)
			if diff := cmp.Diff(ok, c.response(false)); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBackendSpeaksOnlyHTTP2 answers 502, never hangs, when an HTTP/1.1 request reaches a backend
// that only speaks HTTP/2 with prior knowledge: such a server answers with its SETTINGS frame and a
// GOAWAY, which is no HTTP/1.x response head.
func TestBackendSpeaksOnlyHTTP2(t *testing.T) {
	be, c := viaScripted(t)
	c.send(simpleGet)
	b := be.next()
	b.request()
	// An empty SETTINGS frame (RFC 9113 §6.5), then GOAWAY with PROTOCOL_ERROR (§6.8).
	b.send("\x00\x00\x00\x04\x00\x00\x00\x00\x00" + "\x00\x00\x08\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01")
	b.conn.Close()
	if diff := cmp.Diff(answer(502, false), c.response(false)); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
}
