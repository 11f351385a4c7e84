package h2

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"proxyd.dev/proxyd/internal/routetest"
)

// concurrentStreams is how many streams TestConcurrentStreams keeps open at once on one connection.
const concurrentStreams = 150

// barrier holds every request below /s/ until n have arrived, so that they are all open at once,
// then answers each with its path; other paths (the protocol probe's) are answered at once.
type barrier struct {
	n       int32
	arrived atomic.Int32
	all     chan struct{}
}

func (b *barrier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/s/") {
		return
	}
	if b.arrived.Add(1) == b.n {
		close(b.all)
	}
	select {
	case <-b.all:
		fmt.Fprint(w, r.URL.Path)
	case <-r.Context().Done():
	}
}

// TestConcurrentStreams opens 150 streams at once on one client connection; the backend answers
// none until all have arrived, so each completes only if the proxy serves them concurrently.
func TestConcurrentStreams(t *testing.T) {
	b := &barrier{n: concurrentStreams, all: make(chan struct{})}
	be := startH2C(t, b)
	p := startProxy(t, testConfig(t, routetest.Table(t, addr(be))))
	c := newClient(t)
	if err := fetch(t.Context(), c, p, "/warm", ""); err != nil { // the connection and the probe first
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, concurrentStreams)
	for i := range concurrentStreams {
		wg.Go(func() { errs <- fetch(ctx, c, p, fmt.Sprintf("/s/%d", i), fmt.Sprintf("/s/%d", i)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := p.connections(); n != 1 {
		t.Errorf("the client used %d connections, want 1", n)
	}
}

// fetch sends a GET for path and checks for 200 and the body want.
func fetch(ctx context.Context, c *http.Client, p *proxy, path, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || string(body) != want {
		return fmt.Errorf("GET %s: status %d, body %q, %v; want 200 and %q", path, resp.StatusCode, body, err, want)
	}
	return nil
}
