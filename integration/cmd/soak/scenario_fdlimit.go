//go:build linux

package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"
)

// saturationHold is how long the fdlimit scenario keeps proxyd out of descriptors, to see that it
// backs off rather than spins.
const saturationHold = 3 * time.Second

// runFDLimit starts a proxyd of its own under an open-file limit of -fd-limit and opens -fd-extra
// silent connections, more than it can hold. proxyd must log the accept back-off, stay alive
// without spinning, and once the extra connections close, serve new ones at once and give its
// descriptors back.
func runFDLimit(ctx context.Context, e *env) *result {
	o := e.opt
	r := newResult("fdlimit")
	// A long header timeout keeps the silent connections open for as long as the scenario needs.
	s, before := begin(ctx, e, r, o.fdLimit, "--header-timeout=2m")
	if s == nil {
		return r
	}
	p := s.proxyd
	limit, err := openFileLimit(p.pid)
	r.check(err == nil && limit == o.fdLimit, "proxyd's open-file limit is %d (%v), want %d", limit, err, o.fdLimit)
	first := target{"/alpha/fdlimit/first", nameAlpha}
	r.check(getOnce(p.addr, first) == nil, "proxyd does not serve before the test")

	conns, dialErrs := openSilent(p.addr, o.fdExtra, o.dialParallel)
	line, err := p.waitLine(ctx, "accept failed", 10*time.Second)
	r.check(err == nil, "no accept back-off logged with %d connections open: %v", len(conns), err)
	e.logf("opened %d connections (%d failed to connect); proxyd logged: %s", len(conns), dialErrs, line)
	t0, _ := cpuTicks(p.pid)
	holdStart := time.Now()
	select {
	case <-ctx.Done():
	case <-time.After(saturationHold): // a measurement window, not a wait for anything
	}
	t1, _ := cpuTicks(p.pid)
	cpu := float64(t1-t0) / 100 / time.Since(holdStart).Seconds() * 100
	saturated, err := p.stats()
	r.check(err == nil && !p.exited(), "proxyd died out of descriptors: %v", err)
	backoffs := len(p.grep("accept failed"))
	e.logf("saturated: %s, CPU %.0f%% of a core, %d back-off lines", saturated, cpu, backoffs)

	for _, c := range conns {
		c.Close()
	}
	start := time.Now()
	var afterwards tally
	for i := range 20 {
		afterwards.record(getOnce(p.addr, target{fmt.Sprintf("/beta/fdlimit/after/%d", i), nameBeta}))
	}
	served := afterwards.requests.Load() - afterwards.errors.Load()
	recovered := time.Since(start)
	after, returned := fdsBack(ctx, e, r, p, before.fds, "the extra connections closed")

	r.figure("limit=%d extra-conns=%d dial-errors=%d backoff-lines=%d cpu-saturated=%.0f%%", limit, len(conns), dialErrs, backoffs, cpu)
	r.figure("served-after=%d/20 in %.2fs fds=%d/%d/%d (before/saturated/after) fd-return=%s",
		served, recovered.Seconds(), before.fds, saturated.fds, after.fds, returned)
	r.check(cpu < 50, "proxyd used %.0f%% of a core while out of descriptors: it spins", cpu)
	r.check(served == 20, "%d of 20 requests failed once the extra connections closed (first: %s)", 20-served, afterwards.firstErrors())
	e.finish(r, p)
	return r
}

// getOnce GETs t on a new connection and checks the answer.
func getOnce(addr string, t target) error {
	c, err := dialClient(addr, requestTimeout)
	if err != nil {
		return err
	}
	defer c.close()
	_, err = t.get(c, requestTimeout)
	return err
}

// openSilent opens n connections to addr, parallel at most at once, that send nothing; it returns
// those that connected and how many did not.
func openSilent(addr string, n, parallel int) ([]net.Conn, int) {
	var mu sync.Mutex
	var conns []net.Conn
	failed := 0
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				return
			}
			conns = append(conns, c)
		})
	}
	wg.Wait()
	return conns, failed
}
