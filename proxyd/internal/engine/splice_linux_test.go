package engine

import (
	"strconv"
	"strings"
	"testing"

	"proxyd.dev/proxyd/internal/routetest"
)

// TestSplicedBodiesTakePipeGrowth checks that a large body, in either direction, is spliced
// through a pipe grown from the server's budget (pipeGrowth) while it is relayed, and that the
// growth is back in the budget once the exchange is over: the next exchange on the connection is
// served after it.
func TestSplicedBodiesTakePipeGrowth(t *testing.T) {
	const (
		size      = 4 << 20
		first     = 1 << 20        // the body bytes relayed before the budget is looked at
		grown     = 1<<20 - 64<<10 // a 1 MiB pipe's growth beyond the kernel's 64 KiB
		noContent = "HTTP/1.1 204 No Content\r\n\r\n"
	)
	body := strings.Repeat("b", size)
	length := "Content-Length: " + strconv.Itoa(size) + "\r\n\r\n"
	for _, tc := range []struct {
		name   string
		upload bool // the large body is the request's; else the response's
	}{{"request body", true}, {"response body", false}} {
		t.Run(tc.name, func(t *testing.T) {
			be := startScripted(t)
			p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
			c := dial(t, p.addr)
			c.send("GET /first HTTP/1.1\r\nHost: example.test\r\n\r\n")
			b := be.next() // kept for the client's later requests
			answer := func() {
				b.request()
				b.send(noContent)
				c.response(false)
			}
			answer()
			// split relays head and body from one peer to the other, and checks the budget once
			// the first bytes of the body have come through.
			split := func(from, to *peer, head string) {
				from.send(head + body[:first])
				to.head()
				to.readN(first)
				if used := p.srv.pipes.Used(); used != grown {
					t.Errorf("pipe budget used %d while the body is spliced; want %d", used, grown)
				}
				from.send(body[first:])
				to.readN(size - first)
			}
			if tc.upload {
				split(c, b, "POST /upload HTTP/1.1\r\nHost: example.test\r\n"+length)
				b.send(noContent)
				c.response(false)
			} else {
				c.send("GET /download HTTP/1.1\r\nHost: example.test\r\n\r\n")
				b.request()
				split(b, c, "HTTP/1.1 200 OK\r\n"+length)
			}
			c.send("GET /next HTTP/1.1\r\nHost: example.test\r\n\r\n")
			answer()
			if used := p.srv.pipes.Used(); used != 0 {
				t.Errorf("pipe budget used %d after the exchange; want 0", used)
			}
		})
	}
}
