package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/routetest"
)

// TestFraming relays one exchange of each framing through a scripted backend: the backend must
// read exactly the client's bytes, the client exactly the backend's, and the client connection
// must then be closed or, when kept alive, carry the next request on the same backend connection.
func TestFraming(t *testing.T) {
	for _, tc := range []struct {
		name     string
		req      string
		resp     string
		headOnly bool // HEAD: the response has no body whatever its fields say
		untilEOF bool // the backend ends the body by closing
		closed   bool // the client connection must be closed after the response
		// forwarded is what the backend must read when it differs from req: proxyd honours a
		// client's "Connection: close" itself and keeps the backend connection.
		forwarded string
		// relayed is what the client must read when it differs from resp: a response after which
		// proxyd closes the client connection says "Connection: close" in place of the backend's
		// connection options (RFC 9112 §9.6).
		relayed string
	}{{
		name: "content-length",
		req:  "POST /cl HTTP/1.1\r\nHost: example.test\r\nContent-Length: 11\r\n\r\nhello world",
		resp: "HTTP/1.1 201 Created\r\nContent-Length: 6\r\n\r\nthanks",
	}, {
		name: "repeated identical content-length",
		req:  "POST /cl HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
		resp: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
	}, {
		name: "zero content-length",
		req:  "POST /zero HTTP/1.1\r\nHost: example.test\r\nContent-Length: 0\r\n\r\n",
		resp: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	}, {
		name: "chunked with extensions and trailers",
		req: "POST /chunked HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"5;name=value\r\nhello\r\n6;flag\r\n world\r\n0;last=\"yes\"\r\nX-Checksum: abc\r\n\r\n",
		resp: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T, X-U\r\n\r\n" +
			"3;e=\"q\"\r\nabc\r\nA\r\n0123456789\r\n0;end\r\nX-T: 1\r\nX-U: 2\r\n\r\n",
	}, {
		name:     "close-delimited response",
		req:      "GET /stream HTTP/1.1\r\nHost: example.test\r\n\r\n",
		resp:     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nthis body ends when the backend closes",
		relayed:  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nthis body ends when the backend closes",
		untilEOF: true,
		closed:   true,
	}, {
		name:     "HEAD with content-length",
		req:      "HEAD /file HTTP/1.1\r\nHost: example.test\r\n\r\n",
		resp:     "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Type: text/plain\r\n\r\n",
		headOnly: true,
	}, {
		name:     "HEAD with chunked",
		req:      "HEAD /file HTTP/1.1\r\nHost: example.test\r\n\r\n",
		resp:     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		headOnly: true,
	}, {
		name: "204",
		req:  "DELETE /item HTTP/1.1\r\nHost: example.test\r\n\r\n",
		resp: "HTTP/1.1 204 No Content\r\nX-Deleted: 1\r\n\r\n",
	}, {
		name: "304 with content-length",
		req:  "GET /cached HTTP/1.1\r\nHost: example.test\r\nIf-None-Match: \"v1\"\r\n\r\n",
		resp: "HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 99\r\n\r\n",
	}, {
		name:   "HTTP/1.0 client",
		req:    "GET /old HTTP/1.0\r\nUser-Agent: old\r\n\r\n",
		resp:   "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
		closed: true,
	}, {
		name:      "Connection: close",
		req:       "GET /bye HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n",
		forwarded: "GET /bye HTTP/1.1\r\nHost: example.test\r\n\r\n",
		resp:      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbye",
		relayed:   "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye",
		closed:    true,
	}, {
		name:      "Connection: close, backend says keep-alive",
		req:       "GET /bye HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n",
		forwarded: "GET /bye HTTP/1.1\r\nHost: example.test\r\n\r\n",
		resp:      "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 3\r\n\r\nbye",
		relayed:   "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye",
		closed:    true,
	}, {
		name:    "HTTP/1.0 without keep-alive",
		req:     "GET /old HTTP/1.0\r\n\r\n",
		resp:    "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nold",
		relayed: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nold",
		closed:  true,
	}, {
		name: "backend says Connection: close",
		req:  "GET /once HTTP/1.1\r\nHost: example.test\r\n\r\n",
		resp: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 4\r\n\r\nonce",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			be, c := viaScripted(t)

			c.send(tc.req)
			b := be.next()
			want := tc.req
			if tc.forwarded != "" {
				want = tc.forwarded
			}
			if diff := cmp.Diff(want, b.request()); diff != "" {
				t.Errorf("backend read (-want +got):\n%s", diff)
			}
			b.send(tc.resp)
			if tc.untilEOF {
				b.conn.Close()
			}
			relayed := tc.resp
			if tc.relayed != "" {
				relayed = tc.relayed
			}
			if diff := cmp.Diff(relayed, c.response(tc.headOnly)); diff != "" {
				t.Errorf("client read (-want +got):\n%s", diff)
			}
			if tc.closed {
				c.expectEOF()
				return
			}

			c.send(followUp)
			if field(tc.resp, "Connection") == "close" {
				b.expectEOF()
				b = be.next()
			}
			serveOne(t, c, b, followUp, followUpResp)
		})
	}
}

// TestTransferCodingForHTTP10 relays responses in a transfer coding to HTTP/1.0 clients, which
// read none (RFC 9112 §6.1): a chunked body arrives as its data alone, without Transfer-Encoding,
// ended by the close, and the backend connection, read to the body's end, serves the next client;
// a body in another coding is answered 502; a HEAD response has no body to decode and passes.
func TestTransferCodingForHTTP10(t *testing.T) {
	const req = "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
	t.Run("chunked", func(t *testing.T) {
		be := startScripted(t)
		p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
		c := dial(t, p.addr)
		c.send(req)
		b := be.next()
		b.request()
		b.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n" +
			"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n")
		if diff := cmp.Diff("HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: close\r\n\r\nhello world", c.response(false)); diff != "" {
			t.Errorf("client read (-want +got):\n%s", diff)
		}
		c.expectEOF()
		pool := p.srv.routes.Load().pools[0]
		waitFor(t, "the backend connection is pooled", func() bool { return pool.Idle() == 1 })
		next := dial(t, p.addr)
		next.send(followUp)
		serveOne(t, next, b, followUp, followUpResp)
	})
	for name, resp := range map[string]string{
		"gzip, chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		"gzip":          "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			be, c := viaScripted(t)
			c.send(req)
			b := be.next()
			b.request()
			b.send(resp)
			if diff := cmp.Diff(answer(502, false), c.response(false)); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			b.expectEOF()
		})
	}
	t.Run("HEAD", func(t *testing.T) {
		be, c := viaScripted(t)
		c.send("HEAD /old HTTP/1.0\r\n\r\n")
		b := be.next()
		b.request()
		b.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n")
		if diff := cmp.Diff("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n", c.response(true)); diff != "" {
			t.Errorf("client read (-want +got):\n%s", diff)
		}
		c.expectEOF()
	})
}

// TestInterimResponses relays 1xx responses before the final one: 100 Continue, which the client
// waits for before it sends its body, and 103 Early Hints.
func TestInterimResponses(t *testing.T) {
	for _, tc := range []struct {
		name string
		hops []hop
	}{{
		name: "100-continue",
		hops: []hop{
			{up: true, data: "PUT /upload HTTP/1.1\r\nHost: example.test\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n"},
			{data: "HTTP/1.1 100 Continue\r\n\r\n"},
			{up: true, data: "payload"},
			{data: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone"},
		},
	}, {
		name: "103 early hints",
		hops: []hop{
			{up: true, data: "GET /page HTTP/1.1\r\nHost: example.test\r\n\r\n"},
			{data: "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n"},
			{data: "HTTP/1.1 103 Early Hints\r\nLink: </app.js>; rel=preload; as=script\r\n\r\n"},
			{data: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			be, c := viaScripted(t)
			relayHops(t, be, c, tc.hops)
		})
	}
}

// TestEarlyAnswer relays a response the backend sends before the request body has ended: the
// client gets it, and then both connections are closed, since neither is at a message boundary.
func TestEarlyAnswer(t *testing.T) {
	const tooMuch = "HTTP/1.1 413 Content Too Large\r\nContent-Length: 9\r\n\r\ntoo large"
	for _, tc := range []struct{ name, head, start string }{
		{"content-length", "POST /upload HTTP/1.1\r\nHost: example.test\r\nContent-Length: 1000000\r\n\r\n", "the first bytes of a long body"},
		{"chunked", "POST /upload HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n", "5\r\nfirst\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be, c := viaScripted(t)
			b := relayHops(t, be, c, []hop{{up: true, data: tc.head}, {up: true, data: tc.start}, {data: tooMuch}})
			c.expectEOF()
			b.expectEOF()
		})
	}
}
