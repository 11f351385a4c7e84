//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// manyRequestTimeout bounds one request while thousands of connections share two cores.
const manyRequestTimeout = 30 * time.Second

// runMany opens -conns keep-alive connections that all stay open together, each sending -requests
// GETs whose paths alternate between the three backends; every answer must be a complete 200 from
// the right backend for the right path. proxyd's descriptors must come back to the baseline once
// the clients are gone (idle backend connections included, within the pool's idle time) and its
// memory must stop growing.
func runMany(ctx context.Context, e *env) *result {
	o := e.opt
	r := newResult("many")
	s, before := begin(ctx, e, r, 0)
	if s == nil {
		return r
	}
	p := s.proxyd

	peak := startPeakSampler(p.pid, 250*time.Millisecond)
	self := startPeakSampler(os.Getpid(), 250*time.Millisecond) // the clients' and backends' side
	drops0, _ := listenDrops()
	var t tally
	allOpen := make(chan struct{}) // closed once every client has its connection and first answer
	var opened, done sync.WaitGroup
	opened.Add(o.conns)
	done.Add(o.conns)
	sem := make(chan struct{}, o.dialParallel)
	start := time.Now()
	for id := range o.conns {
		go func() {
			defer done.Done()
			manyClient(ctx, p.addr, id, o.requests, sem, &opened, allOpen, &t)
		}()
	}
	opened.Wait()
	atOpen, _ := p.stats()
	soOpen, _ := p.sockets()
	e.logf("%d connections opened and answered once in %.1fs: %s, %s", o.conns, time.Since(start).Seconds(), atOpen, soOpen)
	close(allOpen)
	done.Wait()
	took := time.Since(start)
	top := peak.finish()
	own := self.finish()
	drops1, _ := listenDrops()
	e.logf("clients done in %.1fs (%.0f req/s): %s; proxyd peak %s; soak's own peak fds=%d; listen drops (system-wide) %d",
		took.Seconds(), float64(t.requests.Load())/took.Seconds(), t.summary(), top, own.fds, drops1-drops0)

	r.figure("conns=%d %s", o.conns, t.summary())
	returned := afterClients(ctx, e, r, p, before, top)
	r.figure("fd-return=%s listen-drops=%d", returned, drops1-drops0)
	t.checkNoErrors(r, "clients")
	r.check(t.requests.Load() == int64(o.conns*o.requests), "%d requests made, want %d", t.requests.Load(), o.conns*o.requests)
	e.finish(r, p)
	return r
}

// manyClient opens its connection (at most cap(sem) clients open at once), gets one answer, waits
// until every client got there, then sends the rest of its requests and closes. After a failure it
// goes on with the next request, on a new connection.
func manyClient(ctx context.Context, addr string, id, requests int, sem chan struct{}, opened *sync.WaitGroup, allOpen chan struct{}, t *tally) {
	var c *clientConn
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	// one sends the i-th request, opening a connection first when there is none.
	one := func(i int) {
		var err error
		if c == nil {
			if c, err = dialClient(addr, manyRequestTimeout); err != nil {
				t.record(fmt.Errorf("dial: %w", err))
				return
			}
		}
		r, err := mixedTarget(id, i).get(c, manyRequestTimeout)
		t.record(err)
		if err != nil || r.close {
			c.close()
			c = nil
		}
	}
	select {
	case sem <- struct{}{}:
		one(0)
		<-sem
	case <-ctx.Done():
	}
	opened.Done()
	select {
	case <-allOpen:
	case <-ctx.Done():
		return
	}
	for i := 1; i < requests && ctx.Err() == nil; i++ {
		one(i)
	}
}

// rssSettles samples proxyd's resident memory once a second for five seconds: it has settled when
// it grows by at most 2% over those seconds and is at most 10% above the peak seen under load (the
// peak is sampled, so it may miss the true maximum by a little).
func rssSettles(ctx context.Context, p *proxydProc, peak int64) (bool, string) {
	var samples []int64
	for i := range 5 {
		if i > 0 {
			select {
			case <-ctx.Done():
				return false, "interrupted"
			case <-time.After(time.Second):
			}
		}
		s, err := p.stats()
		if err != nil {
			return false, err.Error()
		}
		samples = append(samples, s.rssKiB)
	}
	first, last := samples[0], samples[len(samples)-1]
	ok := float64(last) <= float64(first)*1.02 && float64(last) <= float64(peak)*1.10
	return ok, fmt.Sprintf("RSS over 5 s: %.1f -> %.1f MiB (peak %.1f)", mib(first), mib(last), mib(peak))
}

func mib(kib int64) float64 { return float64(kib) / 1024 }
