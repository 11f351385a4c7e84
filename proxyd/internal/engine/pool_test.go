package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/routetest"
)

// reuseRequest is the i-th request of a sequence alternating between the given backends, which
// the proxy routes by /A and /B; it also returns the response the echo backend gives.
func reuseRequest(i int, backends string) (req, resp string) {
	name := backends[i%len(backends) : i%len(backends)+1]
	req = fmt.Sprintf("GET /%s/x?i=%d HTTP/1.1\r\nHost: example.test\r\n\r\n", name, i)
	return req, echoResponse(name, req)
}

// startReuse starts echo backends A and B behind the routes /A and /B of a proxy.
func startReuse(t *testing.T) (a, b *rawBackend, p *proxy) {
	a, b = startEcho(t, "A"), startEcho(t, "B")
	return a, b, startProxy(t, testConfig(t, routetest.Table(t, loopback.ClosedAddr(t), "/A="+a.addr(), "/B="+b.addr())))
}

// TestBackendConnectionReuse counts the connections the backends accept while one keep-alive
// client sends many requests: one backend connection per backend, whether the requests all go to
// one backend or alternate between two (the connection left waits in the pool meanwhile).
func TestBackendConnectionReuse(t *testing.T) {
	const requests = 100
	for _, backends := range []string{"A", "AB"} {
		t.Run(backends, func(t *testing.T) {
			a, b, p := startReuse(t)
			c := dial(t, p.addr)
			for i := range requests {
				req, resp := reuseRequest(i, backends)
				c.send(req)
				if got := c.response(false); got != resp {
					t.Fatalf("request %d: got %q, want %q", i, got, resp)
				}
			}
			want := map[string]int{"A": 1, "B": len(backends) - 1}
			got := map[string]int{"A": a.accepts(), "B": b.accepts()}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("backend connections (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBackendConnectionReuseConcurrent runs several keep-alive clients at once, each alternating
// between two backends: a backend connection is dialled only when the pool is empty, so each
// backend accepts at most one connection per client.
func TestBackendConnectionReuseConcurrent(t *testing.T) {
	const clients, requests = 4, 50
	a, b, p := startReuse(t)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() { errs <- alternate(p.addr, requests) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if na, nb := a.accepts(), b.accepts(); na > clients || nb > clients {
		t.Errorf("backends accepted %d and %d connections, want at most %d each", na, nb, clients)
	}
}

// alternate sends requests alternating between backends A and B over one connection to addr and
// checks every response.
func alternate(addr string, requests int) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(waitLimit))
	br := bufio.NewReader(nc)
	for i := range requests {
		req, want := reuseRequest(i, "AB")
		if _, err := io.WriteString(nc, req); err != nil {
			return err
		}
		got, err := readMessage(br, true, false)
		if err != nil {
			return fmt.Errorf("request %d: %v", i, err)
		}
		if got != want {
			return fmt.Errorf("request %d: got %q, want %q", i, got, want)
		}
	}
	return nil
}
