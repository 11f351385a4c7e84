package engine

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/routetest"
)

// echoProxy starts an echo backend and a proxy for it, its configuration changed by each of tune.
func echoProxy(t *testing.T, tune ...func(*Config)) *proxy {
	t.Helper()
	up := startEcho(t, "up")
	cfg := testConfig(t, routetest.Table(t, up.addr()))
	for _, f := range tune {
		f(&cfg)
	}
	return startProxy(t, cfg)
}

// parkedProxy starts an echo backend and a proxy for it, and returns the proxy and n client
// connections that have each made one request and are parked in the proxy's idle set.
func parkedProxy(t *testing.T, n int) (*proxy, []*peer) {
	t.Helper()
	p := echoProxy(t)
	clients := make([]*peer, n)
	for i := range clients {
		clients[i] = dial(t, p.addr)
		exchangeOnce(t, clients[i], i)
	}
	waitParked(t, p, n)
	return p, clients
}

// exchangeOnce sends request i on c and checks its echoed answer.
func exchangeOnce(t *testing.T, c *peer, i int) {
	t.Helper()
	c.send(numbered(i))
	if diff := cmp.Diff(echoResponse("up", numbered(i)), c.response(false)); diff != "" {
		t.Fatalf("answer to request %d (-want +got):\n%s", i, diff)
	}
}

// numbered is a request whose target carries i.
func numbered(i int) string {
	return fmt.Sprintf("GET /r/%d HTTP/1.1\r\nHost: example.test\r\n\r\n", i)
}

// waitParked waits until n connections are parked in the idle set of p and no goroutine serves a
// client connection any more.
func waitParked(t *testing.T, p *proxy, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d connections are parked", n), func() bool { return p.srv.idle.Len() == n })
	waitFor(t, "no goroutine serves a connection", func() bool { return !goroutineIn(serving) })
}

// serving is in the stack of a goroutine that runs a method of a client connection.
const serving = "engine.(*clientConn)"

// goroutineIn reports whether some goroutine's stack holds fn.
func goroutineIn(fn string) bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Contains(string(buf[:n]), fn)
		}
		buf = make([]byte, 2*len(buf))
	}
}

// tracked returns how many client connections p serves.
func tracked(p *proxy) int { return len(p.srv.snapshot(nil)) }

// TestParkedServed serves the next request of a connection parked in the idle set, and parks it
// again after that request.
func TestParkedServed(t *testing.T) {
	p, clients := parkedProxy(t, 1)
	c := clients[0]
	for i := 1; i <= 2; i++ {
		exchangeOnce(t, c, i)
		waitParked(t, p, 1)
	}
}

// TestParkedIdleTimeout closes a parked connection once it has waited for the idle timeout, counted
// from the end of the previous response.
func TestParkedIdleTimeout(t *testing.T) {
	const idle = 2 * time.Second // past the hand-off, for the connection to park first
	p := echoProxy(t, func(cfg *Config) { cfg.IdleTimeout = idle })
	c := dial(t, p.addr)
	exchangeOnce(t, c, 0)
	answered := time.Now()
	waitParked(t, p, 1)
	waitClosed(t, c.conn)
	within(t, "parked connection closed", time.Since(answered), idle)
	waitFor(t, "the connection is freed", func() bool { return tracked(p) == 0 && p.srv.idle.Len() == 0 })
}

// TestParkedShutdown closes parked connections at once on Shutdown, which then returns nil.
func TestParkedShutdown(t *testing.T) {
	p, clients := parkedProxy(t, 3)
	done := shutdownAsync(p, waitLimit)
	for _, c := range clients {
		c.expectEOF()
	}
	if err := result(t, done); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if n := tracked(p); n != 0 {
		t.Errorf("%d connections tracked after Shutdown, want 0", n)
	}
}

// TestParkedClientLeaves frees a parked connection as soon as its client closes, half-closes or
// resets it, long before the idle timeout.
func TestParkedClientLeaves(t *testing.T) {
	for _, tc := range []struct {
		name  string
		leave func(*net.TCPConn)
	}{
		{"close", func(c *net.TCPConn) { c.Close() }},
		{"half-close", func(c *net.TCPConn) { c.CloseWrite() }},
		{"reset", func(c *net.TCPConn) { c.SetLinger(0); c.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, clients := parkedProxy(t, 1)
			tc.leave(clients[0].conn)
			// waitFor gives up after waitLimit, far less than the idle timeout (testTimeout).
			waitFor(t, "the connection is freed", func() bool { return tracked(p) == 0 && p.srv.idle.Len() == 0 })
		})
	}
}

// TestManyParkedSendAtOnce serves 2,000 parked connections that all send their next request at
// once.
func TestManyParkedSendAtOnce(t *testing.T) {
	const n = 2000
	p, clients := parkedProxy(t, n)
	for i, c := range clients {
		c.send(numbered(n + i))
	}
	for i, c := range clients {
		if diff := cmp.Diff(echoResponse("up", numbered(n+i)), c.response(false)); diff != "" {
			t.Fatalf("answer on connection %d (-want +got):\n%s", i, diff)
		}
	}
	waitParked(t, p, n)
}

// TestBurstParksAtOnce parks the waits of the connections of a burst beyond maxGoroutineWaits as
// soon as each has its response, long before the hand-off would move them. (Ring loops wait for
// requests without a goroutine or a buffer, and park a wait only at the hand-off.)
func TestBurstParksAtOnce(t *testing.T) {
	const extra = 64
	p := echoProxy(t, func(c *Config) { c.RingLoops = false })
	start := time.Now()
	for i := range maxGoroutineWaits + extra {
		exchangeOnce(t, dial(t, p.addr), i)
	}
	waitFor(t, fmt.Sprintf("%d connections are parked", extra), func() bool { return p.srv.idle.Len() >= extra })
	if took := time.Since(start); took >= handoffAfter {
		t.Errorf("%d connections parked %v after the first request, want less than the hand-off (%v)", extra, took, handoffAfter)
	}
	waitParked(t, p, maxGoroutineWaits+extra)
}

// TestParkedDescriptorReuse parks a connection on the descriptor number of one that was parked and
// closed (its client left): the new connection is served when it sends, and only then.
func TestParkedDescriptorReuse(t *testing.T) {
	p, clients := parkedProxy(t, 1)
	old := proxySideFd(t, p)
	clients[0].conn.Close()
	waitFor(t, "the connection is freed", func() bool { return tracked(p) == 0 && p.srv.idle.Len() == 0 })

	c := dialOnto(t, p, old)
	exchangeOnce(t, c, 1)
	if fd := proxySideFd(t, p); fd != old {
		t.Fatalf("the new connection has descriptor %d in the proxy, want the old one's %d", fd, old)
	}
	waitParked(t, p, 1)
	exchangeOnce(t, c, 2)
	waitParked(t, p, 1)
}

// dialOnto dials p so that it accepts the connection on descriptor fd, which must be free. The
// client's socket is in this process too, and a socket takes the lowest free number: so every
// free number up to fd is held by a placeholder while the client's socket is made, fd is let go
// just before it connects, and the others once p has accepted.
func dialOnto(t *testing.T, p *proxy, fd uintptr) *peer {
	t.Helper()
	var held []int
	defer func() {
		for _, n := range held {
			unix.Close(n)
		}
	}()
	for len(held) == 0 || held[len(held)-1] < int(fd) {
		n, err := unix.FcntlInt(2, unix.F_DUPFD_CLOEXEC, 0) // the lowest free number
		if err != nil {
			t.Fatalf("holding a descriptor: %v", err)
		}
		held = append(held, n)
	}
	if last := held[len(held)-1]; last != int(fd) {
		t.Fatalf("descriptor %d is not free", fd)
	}
	held = held[:len(held)-1]
	d := net.Dialer{Control: func(string, string, syscall.RawConn) error { return unix.Close(int(fd)) }}
	nc, err := d.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the connection is accepted", func() bool { return tracked(p) == 1 })
	return newPeer(t, nc)
}

// proxySideFd returns the descriptor number of the one client connection p serves.
func proxySideFd(t *testing.T, p *proxy) uintptr {
	t.Helper()
	conns := p.srv.snapshot(nil)
	if len(conns) != 1 {
		t.Fatalf("the proxy serves %d connections, want 1", len(conns))
	}
	var fd uintptr
	if err := conns[0].sock.RawConn().Control(func(d uintptr) { fd = d }); err != nil {
		t.Fatalf("Control: %v", err)
	}
	return fd
}

// TestH2ParkedServed serves the next stream of an HTTP/2 connection that went without streams for
// the hand-off time: its wait moved into the HTTP/2 server's idle set, so no goroutine serves it
// meanwhile (neither the engine's, which handed it over, nor the HTTP/2 reader), and the connection
// the engine handed over stays open for the client's next stream, which is answered.
func TestH2ParkedServed(t *testing.T) {
	be := startH2CBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	p := startProxy(t, testConfig(t, routetest.Table(t, be)))
	c := h2test.Dial(t, p.addr, waitLimit)
	c.Settings()
	for id := uint32(1); id <= 3; id += 2 {
		c.Get(id, "/")
		if status, body := c.Response(); status != "200" || string(body) != "hello" {
			t.Fatalf("stream %d: %s %q, want 200 %q", id, status, body, "hello")
		}
		waitFor(t, "no goroutine serves the HTTP/2 connection", func() bool {
			return !goroutineIn(serving) && !goroutineIn("h2.(*clientConn)")
		})
	}
}
