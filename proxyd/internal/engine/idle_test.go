package engine

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/routetest"
)

// TestEndWaitBrief reports a wait between requests as brief only when it ended before the sweeper
// saw it: such a connection is busy and keeps waiting on its goroutine.
func TestEndWaitBrief(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sweeps    int // sweeper ticks during the wait
		wantBrief bool
	}{
		{"over before a tick", 0, true},
		{"seen by a tick", 1, false},
		{"seen by two ticks", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, _ := loopback.Pair(t)
			limits := timeouts{header: testTimeout, idle: testTimeout, responseHeader: testTimeout, tunnelIdle: testTimeout}
			l, _ := waitingLifetime(t, client)
			for i := range tc.sweeps {
				l.check(time.Duration(i)*time.Millisecond, &limits)
			}
			open, brief := l.endWait(true)
			if !open || brief != tc.wantBrief {
				t.Errorf("endWait = open %v, brief %v; want open true, brief %v", open, brief, tc.wantBrief)
			}
		})
	}
}

// TestClientConnSize holds what every client connection keeps, idle or not, to the allocator's
// size class of 448 bytes. An idle connection's memory has a target (README.md, Measuring: 2 KiB),
// and this is the largest part of it that is proxyd's own; the next size class is 480 bytes. (It
// was 416 before the ring loops: their state and the lifetime's links to it take 32 bytes.)
func TestClientConnSize(t *testing.T) {
	const sizeClass = 448
	if size := unsafe.Sizeof(clientConn{}); size > sizeClass {
		t.Errorf("a clientConn takes %d bytes, more than the size class of %d bytes", size, sizeClass)
	}
}

// TestRequestDuringExchangeWithin sends a request while the previous one, on a busy keep-alive
// connection, is served within the wait for a request (clientConn.serveWithin): the wait that
// follows, which does not read before it waits, is woken by that request at once, rather than
// when the wait moves off its goroutine (handoffAfter) and into the idle set.
func TestRequestDuringExchangeWithin(t *testing.T) {
	be, echo := startScripted(t), startEcho(t, "echo")
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr(), "/echo="+echo.addr())))
	c := dial(t, p.addr)
	const echoReq = "GET /echo HTTP/1.1\r\nHost: example.test\r\n\r\n"
	makeBusy(c, echoReq, nil)
	c.send(heldRequest)
	held := be.next()
	held.request() // the proxy has read the held request: the next one comes during its exchange
	c.send(echoReq)

	start := time.Now()
	held.send("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nheld")
	if got := c.response(false); !strings.HasSuffix(got, "held") {
		t.Fatalf("response to the held request: %q", got)
	}
	if got, want := c.response(false), echoResponse("echo", echoReq); got != want {
		t.Fatalf("response to the request sent during the held one: %q, want %q", got, want)
	}
	if took := time.Since(start); took >= handoffAfter {
		t.Errorf("the request sent during the held one was answered %v after it, want less than the hand-off (%v)", took, handoffAfter)
	}
}

// TestHalfCloseAfterRequestWithin half-closes a busy keep-alive connection right after a request,
// which the proxy reads within its wait for a request, the end of the stream with it: the proxy
// answers, and then closes the connection at once, rather than when the wait moves off its
// goroutine (handoffAfter) and into the idle set.
func TestHalfCloseAfterRequestWithin(t *testing.T) {
	echo := startEcho(t, "echo")
	p := startProxy(t, testConfig(t, routetest.Table(t, echo.addr())))
	c := dial(t, p.addr)
	const req = "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"
	makeBusy(c, req, nil)
	start := time.Now()
	c.send(req)
	if err := c.conn.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if got, want := c.response(false), echoResponse("echo", req); got != want {
		t.Fatalf("response: %q, want %q", got, want)
	}
	c.expectEOF()
	if took := time.Since(start); took >= handoffAfter {
		t.Errorf("the connection closed %v after the client's end, want less than the hand-off (%v)", took, handoffAfter)
	}
}
