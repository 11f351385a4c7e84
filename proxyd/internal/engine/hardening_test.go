package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/reply"
	"proxyd.dev/proxyd/internal/routetest"
)

// staleResponse is what a faulty backend sends on a connection after it answered a HEAD request
// with a Content-Length and no body: bytes no request asked for.
const staleResponse = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale"

// headAnswer answers a HEAD request; its Content-Length describes a body that is not sent.
const headAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 38\r\n\r\n"

// TestStaleBytesNeverReachAnotherClient never lets bytes a backend sent on an idle pooled
// connection become the response to a later request of another client: the connection is closed
// and the request goes on a new one.
func TestStaleBytesNeverReachAnotherClient(t *testing.T) {
	be := startScripted(t)
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
	first := dial(t, p.addr)
	first.send("HEAD /h HTTP/1.1\r\nHost: example.test\r\n\r\n")
	b1 := be.next()
	b1.request()
	b1.send(headAnswer)
	if diff := cmp.Diff(headAnswer, first.response(true)); diff != "" {
		t.Errorf("HEAD response (-want +got):\n%s", diff)
	}
	first.conn.Close()
	pool := p.srv.routes.Load().pools[0]
	waitFor(t, "the backend connection is pooled", func() bool { return pool.Idle() == 1 })
	b1.send(staleResponse)

	second := dial(t, p.addr)
	second.send(simpleGet)
	b2 := be.next()
	serveOne(t, second, b2, simpleGet, followUpResp)
	b1.expectEOF()
}

// TestStaleBytesOnKeptConnection never takes bytes that came after a response, on the backend
// connection a client keeps for its next request, for that request's response.
func TestStaleBytesOnKeptConnection(t *testing.T) {
	be, c := viaScripted(t)
	c.send("HEAD /h HTTP/1.1\r\nHost: example.test\r\n\r\n" + simpleGet) // pipelined: the connection is kept
	b1 := be.next()
	b1.request()
	b1.send(headAnswer + staleResponse)
	if diff := cmp.Diff(headAnswer, c.response(true)); diff != "" {
		t.Errorf("HEAD response (-want +got):\n%s", diff)
	}
	b2 := be.next()
	serveOne(t, c, b2, simpleGet, followUpResp)
	b1.expectEOF()
}

// TestConnectRefused answers CONNECT with 405 and an Allow field, opens no backend connection and
// closes; with AllowConnect it tunnels to the default backend after a 2xx answer.
func TestConnectRefused(t *testing.T) {
	const connect = "CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n"
	t.Run("refused", func(t *testing.T) {
		be, c := viaScripted(t)
		c.send(connect)
		want := "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 23\r\n" +
			"Allow: " + reply.AllowedMethods + "\r\nConnection: close\r\n\r\n405 Method Not Allowed\n"
		if diff := cmp.Diff(want, c.response(false)); diff != "" {
			t.Errorf("answer (-want +got):\n%s", diff)
		}
		c.expectEOF()
		be.expectNoConns()
	})
	t.Run("allowed", func(t *testing.T) {
		be, c := viaScripted(t, func(cfg *Config) { cfg.AllowConnect = true })
		c.send(connect)
		b := be.next()
		if diff := cmp.Diff(connect, b.request()); diff != "" {
			t.Errorf("backend read (-want +got):\n%s", diff)
		}
		const established = "HTTP/1.1 200 Connection Established\r\n\r\n"
		b.send(established)
		if diff := cmp.Diff(established, c.head()); diff != "" {
			t.Errorf("client read (-want +got):\n%s", diff)
		}
		c.send("tunnelled up")
		if got := b.readN(len("tunnelled up")); got != "tunnelled up" {
			t.Errorf("backend read %q through the tunnel", got)
		}
	})
}

// TestMalformedChunkedBody answers 400 when a chunked request body turns out malformed after its
// head went to the backend, closes the backend connection and logs 400.
func TestMalformedChunkedBody(t *testing.T) {
	const head = "POST /up HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n"
	for _, body := range []string{"0x5\r\nhello\r\n0\r\n\r\n", "5 \r\nhello\r\n", "5\r\nhelloX\r\n", "-1\r\n"} {
		t.Run(body, func(t *testing.T) {
			r := startLogged(t)
			be, c := r.be, r.c
			c.send(head)
			b := be.next()
			if diff := cmp.Diff(head, b.head()); diff != "" {
				t.Errorf("backend read (-want +got):\n%s", diff)
			}
			c.send(body)
			if diff := cmp.Diff(answer(400, true), c.response(false)); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			waitClosed(t, b.conn)
			want := []accessRecord{{Method: "POST", Target: "/up", Backend: be.addr(), Status: 400}}
			if diff := cmp.Diff(want, r.log(t)); diff != "" {
				t.Errorf("access log (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUploadClientLeaves logs 499, never 504 or 502, for a client that resets its connection in
// the middle of a request body, however the copier and the exchange interleave.
func TestUploadClientLeaves(t *testing.T) {
	for range 20 {
		r := startLogged(t)
		be, c := r.be, r.c
		c.send("PUT /big HTTP/1.1\r\nHost: example.test\r\nContent-Length: 1000000\r\n\r\npart of the body")
		b := be.next()
		b.readN(len("PUT /big HTTP/1.1\r\nHost: example.test\r\nContent-Length: 1000000\r\n\r\npart of the body"))
		c.conn.SetLinger(0)
		c.conn.Close()
		waitClosed(t, b.conn)
		want := []accessRecord{{Method: "PUT", Target: "/big", Backend: be.addr(), Status: reply.StatusClientClosed}}
		if diff := cmp.Diff(want, r.log(t)); diff != "" {
			t.Fatalf("access log (-want +got):\n%s", diff)
		}
	}
}
