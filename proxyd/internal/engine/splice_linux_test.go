package engine

import (
	"strconv"
	"strings"
	"testing"

	"proxyd.dev/proxyd/internal/routetest"
)

// A large body of the splicing tests, and what of it is relayed before they look at the budget.
const (
	splicedSize  = 4 << 20
	splicedFirst = 1 << 20
	// pipeGrown is a 1 MiB pipe's growth beyond the kernel's 64 KiB, what a body of splicedSize
	// takes from the budget.
	pipeGrown = 1<<20 - 64<<10
	noContent = "HTTP/1.1 204 No Content\r\n\r\n"
)

var (
	splicedBody   = strings.Repeat("b", splicedSize)
	splicedLength = "Content-Length: " + strconv.Itoa(splicedSize) + "\r\n\r\n"
	uploadHead    = "POST /upload HTTP/1.1\r\nHost: example.test\r\n" + splicedLength
	downloadHead  = "HTTP/1.1 200 OK\r\n" + splicedLength
)

// spliceDirections are the two directions a body is spliced in.
var spliceDirections = []struct {
	name   string
	upload bool // the large body is the request's; else the response's
}{{"request body", true}, {"response body", false}}

// spliceFirst sends head and the first bytes of a large body from one peer, reads them at the
// other, and checks that the body holds a grown pipe's share of p's budget meanwhile.
func spliceFirst(t *testing.T, p *proxy, from, to *peer, head string) {
	t.Helper()
	from.send(head + splicedBody[:splicedFirst])
	to.head()
	to.readN(splicedFirst)
	if used := p.srv.pipes.Used(); used != pipeGrown {
		t.Errorf("pipe budget used %d while the body is spliced; want %d", used, pipeGrown)
	}
}

// spliceProxy starts a scripted backend and a proxy to it, and connects a client to the proxy.
func spliceProxy(t *testing.T) (*scriptedBackend, *proxy, *peer) {
	t.Helper()
	be := startScripted(t)
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
	return be, p, dial(t, p.addr)
}

// TestSplicedBodiesTakePipeGrowth checks that a large body, in either direction, is spliced
// through a pipe grown from the server's budget (pipeGrowth) while it is relayed, and that the
// growth is back in the budget once the exchange is over: the next exchange on the connection is
// served after it.
func TestSplicedBodiesTakePipeGrowth(t *testing.T) {
	for _, tc := range spliceDirections {
		t.Run(tc.name, func(t *testing.T) {
			be, p, c := spliceProxy(t)
			c.send("GET /first HTTP/1.1\r\nHost: example.test\r\n\r\n")
			b := be.next() // kept for the client's later requests
			answer := func() {
				b.request()
				b.send(noContent)
				c.response(false)
			}
			answer()
			if tc.upload {
				spliceFirst(t, p, c, b, uploadHead)
				c.send(splicedBody[splicedFirst:])
				b.readN(splicedSize - splicedFirst)
				b.send(noContent)
				c.response(false)
			} else {
				c.send("GET /download HTTP/1.1\r\nHost: example.test\r\n\r\n")
				b.request()
				spliceFirst(t, p, b, c, downloadHead)
				b.send(splicedBody[splicedFirst:])
				c.readN(splicedSize - splicedFirst)
			}
			c.send("GET /next HTTP/1.1\r\nHost: example.test\r\n\r\n")
			answer()
			if used := p.srv.pipes.Used(); used != 0 {
				t.Errorf("pipe budget used %d after the exchange; want 0", used)
			}
		})
	}
}

// TestSplicedBodyFailureGivesPipeBack resets the sending peer's connection in the middle of a
// spliced body, in either direction: proxyd closes the other peer's connection, and by then the
// pipe's growth is back in the budget.
func TestSplicedBodyFailureGivesPipeBack(t *testing.T) {
	for _, tc := range spliceDirections {
		t.Run(tc.name, func(t *testing.T) {
			be, p, c := spliceProxy(t)
			var from, to *peer
			if tc.upload {
				c.send(uploadHead) // proxyd dials the backend once the head is whole
				from, to = c, be.next()
				spliceFirst(t, p, from, to, "")
			} else {
				c.send("GET /download HTTP/1.1\r\nHost: example.test\r\n\r\n")
				from, to = be.next(), c
				from.request()
				spliceFirst(t, p, from, to, downloadHead)
			}
			from.conn.SetLinger(0) // a reset, not a close: the body ends in the middle
			from.conn.Close()
			waitClosed(t, to.conn)
			if used := p.srv.pipes.Used(); used != 0 {
				t.Errorf("pipe budget used %d after the failed exchange; want 0", used)
			}
		})
	}
}
