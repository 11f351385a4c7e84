//go:build linux

package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// h2RequestTimeout bounds one request of the h2 scenario.
const h2RequestTimeout = 30 * time.Second

// h2ResetAfter is how long a request the client resets waits for its (slow) answer.
const h2ResetAfter = 20 * time.Millisecond

// runH2 opens -h2-conns HTTP/2 connections with prior knowledge, each running -h2-streams
// workers at once that send -requests requests each: GETs and POSTs across the three backends
// (whose answers must come complete from the right backend), and every eighth a slow GET that
// the client resets before its answer. proxyd forwards the streams over HTTP/1.1, the backends'
// protocol. Its descriptors must come back to the baseline once the clients are gone (idle
// backend connections included, within the pool's idle time) and its memory must settle.
func runH2(ctx context.Context, e *env) *result {
	o := e.opt
	r := newResult("h2")
	s, before := begin(ctx, e, r, 0)
	if s == nil {
		return r
	}
	p := s.proxyd
	peak := startPeakSampler(p.pid, 250*time.Millisecond)
	var t tally
	var resets atomic.Int64
	start := time.Now()
	var clients sync.WaitGroup
	for conn := range o.h2Conns {
		clients.Go(func() { h2Client(ctx, p.addr, conn, o.h2Streams, o.requests, &t, &resets) })
	}
	clients.Wait()
	took := time.Since(start)
	top := peak.finish()
	e.logf("clients done in %.1fs (%.0f req/s): %s, resets=%d; proxyd peak %s",
		took.Seconds(), float64(t.requests.Load())/took.Seconds(), t.summary(), resets.Load(), top)

	r.figure("conns=%d streams=%d %s resets=%d", o.h2Conns, o.h2Streams, t.summary(), resets.Load())
	r.figure("fd-return=%s", afterClients(ctx, e, r, p, before, top))
	t.checkNoErrors(r, "h2 clients")
	want := int64(o.h2Conns * o.h2Streams * o.requests)
	r.check(t.requests.Load()+resets.Load() == want, "%d requests made and %d reset, want %d in all", t.requests.Load(), resets.Load(), want)
	e.finish(r, p)
	return r
}

// h2Client runs one HTTP/2 connection to addr (its transport dials one and keeps to it) with
// streams workers, each sending requests requests; the resets are counted apart. At the end it
// closes what its transport dialled, streams just reset included.
func h2Client(ctx context.Context, addr string, conn, streams, requests int, t *tally, resets *atomic.Int64) {
	var mu sync.Mutex
	var dialled []net.Conn
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, _ string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			nc, err := d.DialContext(ctx, network, addr)
			if err == nil {
				mu.Lock()
				dialled = append(dialled, nc)
				mu.Unlock()
			}
			return nc, err
		},
	}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, nc := range dialled {
			nc.Close()
		}
	}()
	c := &http.Client{Transport: tr}
	var workers sync.WaitGroup
	for w := range streams {
		workers.Go(func() {
			for i := range requests {
				n := (conn*streams+w)*requests + i
				if n%8 == 7 {
					if h2Reset(ctx, c, addr, n) {
						resets.Add(1)
					} else {
						t.record(fmt.Errorf("request %d: the slow request was answered before its reset", n))
					}
					continue
				}
				t.record(h2Exchange(ctx, c, addr, mixedTarget(conn, n), n%2 == 1))
			}
		})
	}
	workers.Wait()
}

// h2Exchange sends a GET of tg, or a POST of 1 KiB when post, and checks the answer.
func h2Exchange(ctx context.Context, c *http.Client, addr string, tg target, post bool) error {
	ctx, cancel := context.WithTimeout(ctx, h2RequestTimeout)
	defer cancel()
	method, body, want := http.MethodGet, io.Reader(nil), tg.path
	if post {
		method, body, want = http.MethodPost, strings.NewReader(strings.Repeat("p", 1024)), tg.path+" 1024"
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+tg.path, body)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, tg.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: body: %w", method, tg.path, err)
	}
	return tg.check(&reply{status: resp.StatusCode, backend: resp.Header.Get(backendHeader), body: b}, want)
}

// h2Reset sends a GET that the backend answers after a second, and resets its stream after
// h2ResetAfter; it reports whether the request ended by the reset, unanswered.
func h2Reset(ctx context.Context, c *http.Client, addr string, n int) bool {
	ctx, cancel := context.WithTimeout(ctx, h2ResetAfter)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/alpha/reset%d?%s=1000", addr, n, paramSlow), nil)
	if err != nil {
		return false
	}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return errors.Is(err, context.DeadlineExceeded)
}
