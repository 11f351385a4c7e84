package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/proxyd/internal/routetest"
)

// loopProxy starts a proxy on ring loops, counting metrics into m, in front of a scripted backend,
// and a client connection whose first exchange, served on a goroutine, it plays: the connection
// waits on a loop after it, and its backend connection waits in the pool.
func loopProxy(t *testing.T, m *metrics.Metrics) (*scriptedBackend, *peer, *peer) {
	t.Helper()
	be := startScripted(t)
	cfg := testConfig(t, routetest.Table(t, be.addr()))
	cfg.RingLoops, cfg.Metrics = true, m
	p := startProxy(t, cfg)
	c := dial(t, p.addr)
	c.send(simpleGet)
	b := be.next()
	serveOne(t, c, b, simpleGet, followUpResp)
	pool := p.srv.routes.Load().pools[0]
	waitFor(t, "the backend connection is pooled", func() bool { return pool.Idle() == 1 })
	return be, c, b
}

// TestLoopReusesQuietConnection serves a request on a ring loop on the pooled backend connection
// that stayed quiet.
func TestLoopReusesQuietConnection(t *testing.T) {
	m := metrics.New()
	be, c, b := loopProxy(t, m)
	c.send(simpleGet)
	serveOne(t, c, b, simpleGet, followUpResp)
	if n := be.accepts(); n != 1 {
		t.Errorf("backend accepted %d connections, want 1", n)
	}
	if n := ringExchanges(t, m); n != 1 {
		t.Errorf("%d requests sent from a ring loop, want 1", n)
	}
}

// TestLoopNeverSendsOnStaleConnection never sends a request on a pooled backend connection that
// the backend sent bytes on while it was idle, nor takes them for the response: the ring loop's
// check closes it, and the request goes on a new connection.
func TestLoopNeverSendsOnStaleConnection(t *testing.T) {
	be, c, stale := loopProxy(t, nil)
	stale.send(staleResponse)
	c.send(simpleGet)
	serveOne(t, c, be.next(), simpleGet, followUpResp)
	stale.expectEOF()
}

// ringExchanges reads how many requests the ring loops sent to a backend from m.
func ringExchanges(t *testing.T, m *metrics.Metrics) int {
	return counter(t, m, "proxyd_ring_loop_exchanges_total")
}

// counter reads the value of the counter without labels called name from m.
func counter(t *testing.T, m *metrics.Metrics, name string) int {
	t.Helper()
	match := regexp.MustCompile(`(?m)^` + name + ` (\d+)$`).FindStringSubmatch(scrape(t, m))
	if match == nil {
		t.Fatalf("no %s series", name)
	}
	n, _ := strconv.Atoi(match[1])
	return n
}

// TestLoopSharesProcessor has the loop end its pass, and wait in the poller, after every round of
// completions it handles (a share of a nanosecond): no exchange is left waiting, that of a lone
// connection nor those of several at once.
func TestLoopSharesProcessor(t *testing.T) {
	be := startEcho(t, "default")
	cfg := testConfig(t, routetest.Table(t, be.addr()))
	m := metrics.New()
	cfg.RingLoops, cfg.RingLoopsShare, cfg.Metrics = true, time.Nanosecond, m
	p := startProxy(t, cfg)
	exchanges := func(n int) {
		c := dial(t, p.addr)
		for i := range n {
			get := fmt.Sprintf("GET /%d HTTP/1.1\r\nHost: example.test\r\n\r\n", i)
			c.send(get)
			if resp := c.response(false); resp != echoResponse("default", get) {
				t.Errorf("response %q, want the backend's to %q", resp, get)
				return
			}
		}
	}
	exchanges(20)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { exchanges(50) })
	}
	wg.Wait()
	if n := ringExchanges(t, m); n == 0 {
		t.Error("no request sent from the loops")
	}
	if n := counter(t, m, "proxyd_ring_loop_yields_total"); n == 0 {
		t.Error("the loops never ended a pass with work left")
	}
}

// TestLoopsServeOnlyUnderLoad leaves a lone busy connection to goroutines, where its exchanges are
// faster than on a loop, serves on the loops once as many connections are busy as
// Config.RingLoopsBusy asks, and goes on until fewer than half as many are.
func TestLoopsServeOnlyUnderLoad(t *testing.T) {
	be := startEcho(t, "default")
	cfg := testConfig(t, routetest.Table(t, be.addr()))
	m := metrics.New()
	cfg.RingLoops, cfg.RingLoopsBusy, cfg.Metrics = true, 2, m
	p := startProxy(t, cfg)
	get := "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"
	exchange := func(c *peer) {
		c.send(get)
		if resp := c.response(false); resp != echoResponse("default", get) {
			t.Fatalf("response %q, want the backend's to %q", resp, get)
		}
	}

	a := dial(t, p.addr)
	for range 20 {
		exchange(a)
	}
	if n := ringExchanges(t, m); n != 0 {
		t.Fatalf("one busy connection: %d requests sent from the loops, want 0", n)
	}

	// A connection is busy once a wait for its next request was brief (clientConn.busy), which a
	// tick of the sweeper within the wait may deny it: the rounds go on until the loops serve.
	b := dial(t, p.addr)
	for round := 0; ringExchanges(t, m) == 0; round++ {
		if round == 50 {
			t.Fatal("two busy connections: no request sent from the loops in 50 rounds")
		}
		exchange(a)
		exchange(b)
	}

	b.conn.Close()
	waitFor(t, "the server counts one busy connection", func() bool { return p.srv.busy.Load() <= 1 })
	// The loops go on serving a, whose waits stay brief: all its requests but those after a tick
	// of the sweeper within a wait, which would leave no connection busy.
	before := ringExchanges(t, m)
	for range 10 {
		exchange(a)
	}
	if n := ringExchanges(t, m) - before; n < 5 {
		t.Errorf("one of two busy connections left: %d of 10 requests sent from the loops, want them to go on", n)
	}

	a.conn.Close()
	waitFor(t, "the server counts no busy connection", func() bool { return p.srv.busy.Load() == 0 })
	before = ringExchanges(t, m)
	c := dial(t, p.addr)
	for range 20 {
		exchange(c)
	}
	if n := ringExchanges(t, m) - before; n != 0 {
		t.Errorf("one busy connection after the load: %d requests sent from the loops, want 0", n)
	}
}

// TestRingLoopCount starts as many loops as Config.RingLoopsCount asks, and by default one for
// every two processors, at least one and never more than GOMAXPROCS; loops on every processor
// share them (loopShare), others do not.
func TestRingLoopCount(t *testing.T) {
	for _, tc := range []struct{ count, procs, want int }{
		{0, 1, 1}, {0, 2, 1}, {0, 3, 1}, {0, 4, 2}, {0, 16, 8}, {1, 1, 1}, {3, 2, 2}, {3, 8, 3}, {1, 8, 1},
	} {
		if got := ringLoopCount(tc.count, tc.procs); got != tc.want {
			t.Errorf("ringLoopCount(%d, %d) = %d, want %d", tc.count, tc.procs, got, tc.want)
		}
	}
	be := startEcho(t, "default")
	for _, count := range []int{0, 3} {
		cfg := testConfig(t, routetest.Table(t, be.addr()))
		cfg.RingLoops, cfg.RingLoopsCount = true, count
		p := startProxy(t, cfg)
		procs := runtime.GOMAXPROCS(0)
		want := ringLoopCount(count, procs)
		if got := len(p.srv.loops.all); got != want {
			t.Errorf("RingLoopsCount %d under GOMAXPROCS %d: %d loops, want %d", count, procs, got, want)
		}
		wantShare := time.Duration(0)
		if want == procs {
			wantShare = loopShare
		}
		for _, l := range p.srv.loops.all {
			if l.share != wantShare {
				t.Errorf("RingLoopsCount %d under GOMAXPROCS %d: a loop's share is %v, want %v", count, procs, l.share, wantShare)
			}
		}
	}
}

// TestLoopChecksEachOfManyConnections has several clients that wait on a ring loop send a request
// at once, when every other pooled backend connection has sent bytes while idle: the loop checks
// the connections of the exchanges it forwards together (in one poll), and no request goes on a
// connection that is not quiet, nor a stale byte to a client.
func TestLoopChecksEachOfManyConnections(t *testing.T) {
	const n = testBackendIdleConns
	allDialled, poke := make(chan struct{}), make(chan struct{})
	staleSent, staleClosed := make(chan int, n), make(chan int, n)
	var mu sync.Mutex
	accepted := 0
	be := startBackend(t, func(nc net.Conn) {
		mu.Lock()
		i := accepted
		if accepted++; accepted == n {
			close(allDialled)
		}
		mu.Unlock()
		stale := i < n && i%2 == 1
		br := bufio.NewReader(nc)
		for served := 0; ; served++ {
			if _, err := readMessage(br, false, false); err != nil {
				if stale {
					staleClosed <- i
				}
				return
			}
			if served == 0 && i < n {
				<-allDialled // every first exchange holds a connection of its own
			}
			if _, err := io.WriteString(nc, followUpResp); err != nil {
				return
			}
			if served == 0 && stale {
				<-poke
				if _, err := io.WriteString(nc, staleResponse); err != nil {
					return
				}
				staleSent <- i
			}
		}
	})
	cfg := testConfig(t, routetest.Table(t, be.addr()))
	cfg.RingLoops = true
	p := startProxy(t, cfg)
	clients := make([]*peer, n)
	for i := range clients {
		clients[i] = dial(t, p.addr)
		clients[i].send(simpleGet)
	}
	for _, c := range clients {
		if resp := c.response(false); resp != followUpResp {
			t.Fatalf("first response %q, want %q", resp, followUpResp)
		}
	}
	pool := p.srv.routes.Load().pools[0]
	waitFor(t, "every backend connection is pooled", func() bool { return pool.Idle() == n })
	close(poke)
	for range n / 2 { // on loopback, written is in the proxy's socket
		receive(t, staleSent, "a backend connection to send its stale bytes")
	}
	for _, c := range clients {
		c.send(simpleGet)
	}
	for _, c := range clients {
		if resp := c.response(false); resp != followUpResp {
			t.Errorf("second response %q, want %q: a stale connection was used", resp, followUpResp)
		}
	}
	for range n / 2 {
		receive(t, staleClosed, "the close of a backend connection that sent bytes while idle")
	}
}
