package engine

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/routetest"
	"proxyd.dev/proxyd/internal/upstream"
)

// shortTimeout is the timeout under test in the tests of one timeout; every other stays testTimeout.
const shortTimeout = 300 * time.Millisecond

// lateBy bounds how late a timeout may fire: the sweeper's tick (an eighth of the shortest timeout)
// and scheduling on a loaded machine.
const lateBy = 2 * time.Second

// within fails the test unless elapsed is at least limit and at most limit+lateBy.
func within(t *testing.T, what string, elapsed, limit time.Duration) {
	t.Helper()
	if elapsed < limit || elapsed > limit+lateBy {
		t.Errorf("%s after %v, want between %v and %v", what, elapsed, limit, limit+lateBy)
	}
}

// floodUntilBlocked writes to c until a write makes no progress for 100 ms (the receiver does not
// read and every buffer on the way is full), or until the proxy has closed c already (its timeout
// came first: the checks that follow see the close), and returns the bytes written.
func floodUntilBlocked(t *testing.T, c *net.TCPConn, chunk string) int {
	t.Helper()
	written := 0
	for {
		c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := io.WriteString(c, chunk)
		written += n
		switch {
		case isTimeout(err):
			c.SetWriteDeadline(time.Time{})
			return written
		case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
			return written
		case err != nil:
			t.Fatalf("flooding after %d bytes: %v", written, err)
		}
	}
}

// waitClosed waits, at most waitLimit, until the proxy closes its end of c: a write fails or a read
// returns EOF or a reset. It returns how long that took. Bytes still arriving are read and dropped.
func waitClosed(t *testing.T, c *net.TCPConn) time.Duration {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(waitLimit))
	buf := make([]byte, 64<<10)
	for {
		if _, err := c.Read(buf); err != nil {
			if isTimeout(err) {
				t.Fatal("the proxy did not close the connection")
			}
			return time.Since(start)
		}
	}
}

// waitReset waits, at most waitLimit, until the proxy closes its end of c while c, which never
// reads, keeps offering bytes the proxy does not take: a close with unread bytes resets the
// connection, and a write then fails. It returns how long that took.
func waitReset(t *testing.T, c *net.TCPConn) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < waitLimit {
		c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Write([]byte{'x'}); err != nil && !isTimeout(err) {
			return time.Since(start)
		}
	}
	t.Fatal("the proxy did not close the connection")
	return 0
}

// TestInterimAfterIdlePause relays a 103 Early Hints on the second request of a keep-alive
// connection whose pause and whose backend's delay each stay under the idle timeout, but add up
// beyond it: no timeout of the first exchange or of the idle wait may reach the interim write.
func TestInterimAfterIdlePause(t *testing.T) {
	be, c := viaScripted(t, func(cfg *Config) { cfg.IdleTimeout = shortTimeout })
	c.send(simpleGet)
	b := be.next()
	serveOne(t, c, b, simpleGet, followUpResp)

	time.Sleep(shortTimeout * 2 / 3) // the pause under test
	c.send(followUp)
	if diff := cmp.Diff(followUp, b.request()); diff != "" {
		t.Errorf("backend read (-want +got):\n%s", diff)
	}
	time.Sleep(shortTimeout * 2 / 3) // the backend's delay under test
	const hints = "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
	b.send(hints)
	if diff := cmp.Diff(hints, c.head()); diff != "" {
		t.Errorf("interim response (-want +got):\n%s", diff)
	}
	b.send(followUpResp)
	if diff := cmp.Diff(followUpResp, c.response(false)); diff != "" {
		t.Errorf("final response (-want +got):\n%s", diff)
	}
}

// TestClientStopsReading closes both connections once a client has taken no byte of a streamed
// response for the idle timeout, for every framing: the backend learns at once that nobody reads.
func TestClientStopsReading(t *testing.T) {
	for _, tc := range []struct{ name, head, chunk string }{
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "4000\r\n" + strings.Repeat("c", 0x4000) + "\r\n"},
		{"event stream until close", "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n", "data: " + strings.Repeat("e", 16<<10) + "\n\n"},
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n", strings.Repeat("l", 16<<10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be, c := viaScripted(t, func(cfg *Config) { cfg.IdleTimeout = shortTimeout })
			c.send(simpleGet)
			b := be.next()
			b.request()
			b.send(tc.head)
			floodUntilBlocked(t, b.conn, tc.chunk) // the client reads nothing
			if took := waitClosed(t, b.conn); took > shortTimeout+lateBy {
				t.Errorf("backend connection closed %v after the flood stopped, want at most %v", took, shortTimeout+lateBy)
			}
			waitClosed(t, c.conn)
		})
	}
}

// TestSilentStreamStaysOpen keeps a streamed response whose backend pauses far longer than the idle
// timeout: a silent backend is not a stalled transfer.
func TestSilentStreamStaysOpen(t *testing.T) {
	be, c := viaScripted(t, func(cfg *Config) { cfg.IdleTimeout = shortTimeout })
	c.send(simpleGet)
	b := be.next()
	b.request()
	const head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
	b.send(head)
	c.head()
	for i := range 3 {
		time.Sleep(2 * shortTimeout) // the silence under test
		event := "c\r\ndata: tick\n\n\r\n"
		b.send(event)
		if diff := cmp.Diff(event, c.readN(len(event))); diff != "" {
			t.Fatalf("event %d (-want +got):\n%s", i, diff)
		}
	}
}

// TestRequestBodyStalls answers 408 and closes both connections when a request body stops
// arriving for the idle timeout, chunked or with a Content-Length, relayed through the buffer or
// spliced.
func TestRequestBodyStalls(t *testing.T) {
	for _, tc := range []struct{ name, req string }{
		{"chunked", "POST /up HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"},
		{"content-length", "POST /up HTTP/1.1\r\nHost: example.test\r\nContent-Length: 100\r\n\r\nhello"},
		// A remainder this large is spliced (wire.CopyBody): the splice waiting for the client is
		// what the timeout ends.
		{"spliced", "POST /up HTTP/1.1\r\nHost: example.test\r\nContent-Length: 1000000\r\n\r\nhello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be, c := viaScripted(t, func(cfg *Config) { cfg.IdleTimeout = shortTimeout })
			start := time.Now()
			c.send(tc.req)
			b := be.next()
			b.readN(len(tc.req))
			if diff := cmp.Diff(answer(408, true), c.response(false)); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			within(t, "408", time.Since(start), shortTimeout)
			b.expectEOF()
			c.expectEOF()
		})
	}
}

// TestBackendStopsTakingBody answers 504 and closes both connections when the backend takes no
// byte of a request body for the idle timeout.
func TestBackendStopsTakingBody(t *testing.T) {
	be, c := viaScripted(t, func(cfg *Config) { cfg.IdleTimeout = shortTimeout })
	c.send("POST /up HTTP/1.1\r\nHost: example.test\r\nContent-Length: 1000000000\r\n\r\n")
	b := be.next()
	b.head()
	floodUntilBlocked(t, c.conn, strings.Repeat("u", 64<<10)) // the backend reads nothing more
	if diff := cmp.Diff(answer(504, true), c.response(false)); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	waitClosed(t, b.conn)
}

// TestTunnelBothStopReading closes a tunnel whose two peers both write and neither reads, once no
// byte has moved for the tunnel idle timeout.
func TestTunnelBothStopReading(t *testing.T) {
	be, c := viaScripted(t, func(cfg *Config) { cfg.TunnelIdleTimeout = shortTimeout })
	const upgrade = "GET /ws HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
	const switched = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
	c.send(upgrade)
	b := be.next()
	serveHead := b.head()
	if diff := cmp.Diff(upgrade, serveHead); diff != "" {
		t.Errorf("backend read (-want +got):\n%s", diff)
	}
	b.send(switched)
	c.head()
	chunk := strings.Repeat("w", 64<<10)
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		floodUntilBlocked(t, b.conn, chunk)
	}()
	floodUntilBlocked(t, c.conn, chunk)
	<-flooded
	// Neither peer reads: only the proxy's close ends the writes, with a reset.
	waitReset(t, c.conn)
	waitReset(t, b.conn)
}

// TestTunnelTrafficKeepsAlive keeps a tunnel open past its idle timeout while bytes move one way.
func TestTunnelTrafficKeepsAlive(t *testing.T) {
	const idle = time.Second
	be, c := viaScripted(t, func(cfg *Config) { cfg.TunnelIdleTimeout = idle })
	c.send("GET /ws HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	b := be.next()
	b.head()
	b.send("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	c.head()
	for start := time.Now(); time.Since(start) < 2*idle; {
		c.send(".")
		b.readN(1)
		time.Sleep(idle / 10) // the pace under test
	}
	b.send("still here")
	if got := c.readN(len("still here")); got != "still here" {
		t.Errorf("after the traffic, the client read %q", got)
	}
}

// TestHeaderTimeoutFromAccept answers 408 to a first request whose head is not complete within
// the header timeout counted from the accept, however its bytes are spread: a client that stays
// silent for most of the limit and then drips gets its 408 at the limit, not a limit after its
// first byte.
func TestHeaderTimeoutFromAccept(t *testing.T) {
	const limit, silence = time.Second, 900 * time.Millisecond
	be, c := viaScripted(t, func(cfg *Config) { cfg.HeaderTimeout = limit })
	start := time.Now()
	type answered struct {
		msg string
		err error
		at  time.Time
	}
	got := make(chan answered, 1)
	go func() {
		c.conn.SetReadDeadline(time.Now().Add(waitLimit))
		m, err := readMessage(c.br, true, false)
		got <- answered{m, err, time.Now()}
	}()
	var a answered
	time.Sleep(silence) // the silence under test
drip:
	for _, b := range []byte("GET /slow HTTP/1.1\r\n" + strings.Repeat("X-Drip: 1\r\n", 100)) {
		select {
		case a = <-got:
			break drip
		default:
		}
		c.conn.Write([]byte{b}) // fails once the proxy is done lingering
		time.Sleep(limit / 20)  // the drip under test
	}
	if a.at.IsZero() {
		a = <-got
	}
	if a.err != nil {
		t.Fatalf("reading the answer: %v", a.err)
	}
	if diff := cmp.Diff(answer(408, true), a.msg); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	// Counted from the first byte instead, the 408 would come after silence+limit (1.9 s).
	if took, latest := a.at.Sub(start), limit+700*time.Millisecond; took < limit || took > latest {
		t.Errorf("408 after %v, want between %v and %v", took, limit, latest)
	}
	be.expectNoConns()
}

// TestPoolNoticesBackendClose closes an idle pooled connection whose backend closed it, without
// waiting for a request to ask for it.
func TestPoolNoticesBackendClose(t *testing.T) {
	be := startScripted(t)
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
	c := dial(t, p.addr)
	c.send(simpleGet)
	b := be.next()
	serveOne(t, c, b, simpleGet, followUpResp)
	c.conn.Close() // the backend connection goes to the pool
	pool := p.srv.routes.Load().pools[0]
	waitFor(t, "the pool holds the connection", func() bool { return pool.Idle() == 1 })
	b.conn.Close()
	start := time.Now()
	waitFor(t, "the pool closes it", func() bool { return pool.Idle() == 0 })
	if took := time.Since(start); took > upstream.SweepEvery+lateBy {
		t.Errorf("the pool noticed the close after %v, want at most %v", took, upstream.SweepEvery+lateBy)
	}
}

// TestShutdownTwice lets a second Shutdown return as the first does.
func TestShutdownTwice(t *testing.T) {
	up := startEcho(t, "up")
	p := startProxy(t, testConfig(t, routetest.Table(t, up.addr())))
	c := dial(t, p.addr)
	c.send(simpleGet)
	c.response(false)
	first, second := shutdownAsync(p, waitLimit), shutdownAsync(p, waitLimit)
	for _, done := range []<-chan error{first, second} {
		if err := result(t, done); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}
}
