package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestBadInput sends heads that a backend could read differently from the proxy (RFC 9112 §11.2, RFC 3986 §6):
// each is answered by the proxy itself with the right status, a correct Content-Length and
// "Connection: close", and the connection is then closed. Sent first on a connection, the backend
// never sees a connection; sent by a busy keep-alive connection, which the proxy reads within its
// wait for a request (clientConn.serveWithin), the backend sees only the requests before it.
func TestBadInput(t *testing.T) {
	const host = "Host: example.test\r\n"
	get := func(fields string) string { return "GET / HTTP/1.1\r\n" + host + fields + "\r\n" }
	post := func(fields string) string { return "POST /up HTTP/1.1\r\n" + host + fields + "\r\n" + "hello" }
	target := func(target string) string { return "GET " + target + " HTTP/1.1\r\n" + host + "\r\n" }
	for _, tc := range []struct {
		name   string
		req    string
		status int
	}{
		{"CL and TE", post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), 400},
		{"TE and CL", post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), 400},
		{"differing CLs", post("Content-Length: 5\r\nContent-Length: 6\r\n"), 400},
		{"differing CLs in one field", post("Content-Length: 5, 6\r\n"), 400},
		{"CL hex", post("Content-Length: 0x10\r\n"), 400},
		{"CL plus sign", post("Content-Length: +10\r\n"), 400},
		{"CL negative", post("Content-Length: -1\r\n"), 400},
		{"CL two numbers", post("Content-Length:  10 10\r\n"), 400},
		{"CL overflow", post("Content-Length: 99999999999999999999\r\n"), 400},
		{"CL empty", post("Content-Length: \r\n"), 400},
		{"TE space before colon", post("Transfer-Encoding : chunked\r\n"), 400},
		{"TE tab before colon", post("Transfer-Encoding\t: chunked\r\n"), 400},
		{"TE capitalised", post("Transfer-Encoding: Chunked\r\n"), 400},
		{"TE quoted", post("Transfer-Encoding: \"chunked\"\r\n"), 400},
		{"TE chunked, identity", post("Transfer-Encoding: chunked, identity\r\n"), 400},
		{"TE vertical tab", post("Transfer-Encoding: \x0bchunked\r\n"), 400},
		{"TE trailing NUL", post("Transfer-Encoding: chunked\x00\r\n"), 400},
		{"TE twice", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), 400},
		{"TE gzip", post("Transfer-Encoding: gzip\r\n"), 501},
		{"TE gzip, chunked", post("Transfer-Encoding: gzip, chunked\r\n"), 501},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
		{"obs-fold", get("X-Folded: a\r\n b\r\n"), 400},
		{"obs-fold of TE", post("Transfer-Encoding:\r\n chunked\r\n"), 400},
		{"bare CR in a field", get("X-A: a\rb\r\n"), 400},
		{"bare LF ending a field", get("X-A: a\n"), 400},
		{"bare LF ending the request line", "GET / HTTP/1.1\n" + host + "\r\n", 400},
		{"NUL in target", target("/a\x00b"), 400},
		{"space in target", target("/a b"), 400},
		{"control byte in a field value", get("X-A: a\x01b\r\n"), 400},
		{"DEL in a field value", get("X-A: a\x7fb\r\n"), 400},
		{"control byte in a field name", get("X-\x01A: a\r\n"), 400},
		{"empty field name", get(": a\r\n"), 400},
		{"bad method token", "GE(T / HTTP/1.1\r\n" + host + "\r\n", 400},
		{"lower-case version", "GET / http/1.1\r\n" + host + "\r\n", 400},
		{"malformed version", "GET / HTTP/1.x\r\n" + host + "\r\n", 400},
		{"missing version", "GET /\r\n" + host + "\r\n", 400},
		{"two spaces after method", "GET  / HTTP/1.1\r\n" + host + "\r\n", 400},
		{"HTTP/1.2", "GET / HTTP/1.2\r\n" + host + "\r\n", 505},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n" + host + "\r\n", 505},
		{"missing Host on 1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
		{"two Hosts", get("Host: other.test\r\n"), 400},
		{"slash in Host", "GET / HTTP/1.1\r\nHost: example.test/admin\r\n\r\n", 400},
		{"userinfo in Host", "GET / HTTP/1.1\r\nHost: user@example.test\r\n\r\n", 400},
		{"dot-dot segment", target("/a/../b"), 400},
		{"dot segment", target("/a/./b"), 400},
		{"encoded dot-dot", target("/%2e%2e/x"), 400},
		{"mixed encoded dot-dot", target("/.%2E/"), 400},
		{"encoded NUL", target("/a%00b"), 400},
		{"bad percent escape", target("/a%zzb"), 400},
		{"truncated percent escape", target("/a%2"), 400},
		{"fragment in the path", target("/admin#x"), 400},
		{"fragment in the query", target("/a?x#y"), 400},
		{"userinfo in an absolute-form target", target("http://user@example.test/a"), 400},
		{"absolute-form target without a host", target("http:///a"), 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be, c := viaScripted(t)
			c.send(tc.req)
			if diff := cmp.Diff(answer(tc.status, true), c.response(false)); diff != "" {
				t.Errorf("answer to %q (-want +got):\n%s", tc.req, diff)
			}
			c.expectEOF()
			be.expectNoConns()
		})
		t.Run(tc.name+" within", func(t *testing.T) {
			be, c := viaScripted(t)
			var b *peer
			makeBusy(c, followUp, func() {
				if b == nil {
					b = be.next()
				}
				b.request()
				b.send(followUpResp)
			})
			c.send(tc.req)
			if diff := cmp.Diff(answer(tc.status, true), c.response(false)); diff != "" {
				t.Errorf("answer to %q (-want +got):\n%s", tc.req, diff)
			}
			c.expectEOF()
			if n := be.accepts(); n != 1 {
				t.Errorf("backend accepted %d connections, want 1", n)
			}
		})
	}
}

// TestHeadTooLarge answers 431 to a head larger than MaxHeaderSize, and forwards one just within.
func TestHeadTooLarge(t *testing.T) {
	const limit = 2048
	be, c := viaScripted(t, func(cfg *Config) { cfg.MaxHeaderSize = limit })
	head := func(size int) string {
		const start, end = "GET / HTTP/1.1\r\nHost: example.test\r\nX-Pad: ", "\r\n\r\n"
		return start + strings.Repeat("a", size-len(start)-len(end)) + end
	}

	fits := head(limit)
	c.send(fits)
	b := be.next()
	if diff := cmp.Diff(fits, b.request()); diff != "" {
		t.Errorf("backend read (-want +got):\n%s", diff)
	}
	b.send(followUpResp)
	c.response(false)

	c.send(head(limit + 1))
	if diff := cmp.Diff(answer(431, true), c.response(false)); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	c.expectEOF()
	if n := be.accepts(); n != 1 {
		t.Errorf("backend accepted %d connections, want 1", n)
	}
}

// TestHeadTimeout trickles a head one byte at a time, slower than the header timeout allows for
// the whole head: the proxy answers 408 and closes, and never connects to the backend.
func TestHeadTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	be, c := viaScripted(t, func(cfg *Config) { cfg.HeaderTimeout = timeout })
	head := "GET / HTTP/1.1\r\nHost: example.test\r\nX-Pad: " + strings.Repeat("a", 100) + "\r\n\r\n"

	stop := make(chan struct{})
	trickled := make(chan int, 1)
	go func() {
		// One byte every tenth of the timeout: the whole head would take ten times as long.
		tick := time.NewTicker(timeout / 10)
		defer tick.Stop()
		i := 0
		defer func() { trickled <- i }()
		for ; i < len(head); i++ {
			if _, err := c.conn.Write([]byte{head[i]}); err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	resp := c.response(false)
	close(stop)
	if n := <-trickled; n >= len(head) {
		t.Fatalf("the whole head was sent before the answer")
	}
	if diff := cmp.Diff(answer(408, true), resp); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	c.expectEOF()
	be.expectNoConns()
}
