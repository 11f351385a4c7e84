//go:build linux

package main

import (
	"context"
	"time"
)

// soakSample is one reading of the soak scenario.
type soakSample struct {
	at       time.Duration
	requests int64 // made so far
	stats
}

// runSoak runs a mixed keep-alive load over the three backends for -duration at -rate requests a
// second (-soak-conns connections; GETs, POSTs with either framing and 256 KiB downloads; each
// connection reconnects now and then) and samples proxyd's descriptors, memory and threads every
// 10 s (a tenth of the duration when that is shorter). It passes when no request failed and the
// samples are flat: after a warm-up (a tenth of the duration, at least 30 s or a third of it), the
// average of the last third of the samples is at most -tolerance above that of the first third
// (descriptors may also differ by -fd-margin, threads by 2, anonymous memory by -heap-margin MiB).
//
// Memory is proxyd's anonymous memory: its code's file pages come back as paths that run rarely are
// taken, and are bounded by the executable's size. The margin is the collector's: Go lets the heap
// grow to twice what was live after the last collection (at least 4 MB) before it collects again,
// and proxyd allocates so little per request of this load (about 33 bytes on average once warm)
// that at 1,000 requests a second a cycle takes minutes, so the thirds can fall on different points
// of it. In a five-minute run the thirds are 180,000 requests apart: a leak of 32 bytes per request
// parts them by more than the margin and the tolerance.
func runSoak(ctx context.Context, e *env) *result {
	o := e.opt
	r := newResult("soak")
	s, _ := begin(ctx, e, r, 0)
	if s == nil {
		return r
	}
	p := s.proxyd
	every := min(10*time.Second, o.duration/10)
	warmup := max(o.duration/10, min(30*time.Second, o.duration/3))
	perConn := time.Duration(float64(time.Second) * float64(o.soakConns) / float64(o.rate))
	l := startLoad(p.addr, loadConfig{
		conns:      o.soakConns,
		interval:   perConn,
		maxPerConn: int(o.duration/perConn) + 1,
		reconnect:  200,
		bodies:     true,
	})
	start := time.Now()
	var samples []soakSample
	tick := time.NewTicker(every)
	for elapsed := time.Duration(0); elapsed < o.duration && ctx.Err() == nil; elapsed = time.Since(start) {
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
		st, err := p.stats()
		if !r.check(err == nil, "proxyd gone: %v", err) {
			break
		}
		samples = append(samples, soakSample{time.Since(start), l.tally.requests.Load(), st})
		e.logf("sample %s: %s", st, l.tally.summary())
	}
	tick.Stop()
	l.stop()
	took := time.Since(start)

	var steady []soakSample
	for _, sm := range samples {
		if sm.at >= warmup {
			steady = append(steady, sm)
		}
	}
	r.figure("duration=%s conns=%d %s rate=%.0f/s samples=%d every=%s warmup=%s",
		o.duration, o.soakConns, l.tally.summary(), float64(l.tally.requests.Load())/took.Seconds(), len(samples), every, warmup)
	l.tally.checkNoErrors(r, "clients")
	if !r.check(len(steady) >= 3, "only %d samples after the warm-up, need 3", len(steady)) {
		e.finish(r, p)
		return r
	}
	third := len(steady) / 3
	first, last := average(steady[:third]), average(steady[len(steady)-third:])
	r.figure("first/last third: fds=%.1f/%.1f rss=%.1f/%.1fMiB anon=%.1f/%.1fMiB threads=%.1f/%.1f req/s=%.0f/%.0f tolerance=%.0f%%+%dMiB",
		first.fds, last.fds, first.rss/1024, last.rss/1024, first.anon/1024, last.anon/1024, first.threads, last.threads, first.rate, last.rate, o.tolerance*100, o.heapMargin)
	r.check(last.fds <= first.fds*(1+o.tolerance)+float64(o.fdMargin), "descriptors grow: %.1f -> %.1f", first.fds, last.fds)
	r.check(last.anon <= first.anon*(1+o.tolerance)+float64(o.heapMargin<<10),
		"anonymous memory grows: %.1f -> %.1f MiB", first.anon/1024, last.anon/1024)
	r.check(last.threads <= first.threads+2, "threads grow: %.1f -> %.1f", first.threads, last.threads)
	e.finish(r, p)
	return r
}

// means is the average of some consecutive samples, and the request rate between the first and
// the last of them.
type means struct{ fds, rss, anon, threads, rate float64 }

func average(ss []soakSample) means {
	var m means
	for _, s := range ss {
		m.fds += float64(s.fds)
		m.rss += float64(s.rssKiB)
		m.anon += float64(s.anonKiB)
		m.threads += float64(s.threads)
	}
	n := float64(len(ss))
	first, last := ss[0], ss[len(ss)-1]
	if span := (last.at - first.at).Seconds(); span > 0 {
		m.rate = float64(last.requests-first.requests) / span
	}
	return means{m.fds / n, m.rss / n, m.anon / n, m.threads / n, m.rate}
}
