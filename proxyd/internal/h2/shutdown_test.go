package h2

import (
	"context"
	"net/http"
	"testing"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/routetest"
)

// waiter runs Server.Wait after Drain and delivers its result.
type waiter struct {
	srv  *Server
	done chan error
}

func (w *waiter) run() {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	w.done <- w.srv.Wait(ctx)
}

// startHeld starts an h2c backend whose /held requests signal arrived, then wait until release is
// closed (and answer "done") or their request ends; other paths (the protocol probe's) are answered
// at once.
func startHeld(t *testing.T, release <-chan struct{}) (backend string, arrived <-chan struct{}) {
	reached := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/held", func(w http.ResponseWriter, r *http.Request) {
		close(reached)
		select {
		case <-release:
			w.Write([]byte("done"))
		case <-r.Context().Done():
		}
	})
	return addr(startH2C(t, mux)), reached
}

// heldStream starts a held backend (see startHeld) and a proxy in front of it, and opens stream 1
// for /held on a raw client connection; it returns once the request reached the backend.
func heldStream(t *testing.T, release <-chan struct{}) (*proxy, *h2test.RawClient) {
	be, arrived := startHeld(t, release)
	p := startProxy(t, testConfig(t, routetest.Table(t, be)))
	c := h2test.Dial(t, p.addr, waitLimit)
	c.Settings()
	c.Get(1, "/held")
	within(t, arrived, "the request reaching the backend")
	return p, c
}

// TestShutdownGoAway drains with a stream in flight: the client gets a GOAWAY at once, the
// stream's response still completes, then the connection closes and Wait returns nil.
func TestShutdownGoAway(t *testing.T) {
	release := make(chan struct{})
	p, c := heldStream(t, release)

	p.srv.Drain()
	w := &waiter{srv: p.srv, done: make(chan error, 1)}
	go w.run()
	c.ExpectGoAway()
	close(release)
	if status, body := c.Response(); status != "200" || string(body) != "done" {
		t.Errorf("in-flight stream: status %q, body %q; want 200 and %q", status, body, "done")
	}
	c.ExpectEOF()
	if err := <-w.done; err != nil {
		t.Errorf("Wait: %v", err)
	}
}

// TestShutdownGraceExpires closes a connection whose stream outlasts the grace period; Wait
// returns the context's error.
func TestShutdownGraceExpires(t *testing.T) {
	p, c := heldStream(t, nil)
	p.srv.Drain()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.srv.Wait(ctx); err != context.Canceled {
		t.Errorf("Wait: %v, want %v", err, context.Canceled)
	}
	c.ExpectEOF()
}
