//go:build linux

package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// runHostile sends waves of misbehaving clients, one kind at a time (-hostile of each), at a proxyd
// with short header and idle timeouts, while -normal well-behaved clients keep sending checked
// requests. After each wave proxyd must close the hostile connections by its own timeouts, while
// the hostile clients still hold their end open; once every client is gone its descriptors must
// come back to the baseline (within the pool's idle time). The well-behaved clients must see no
// error at all.
func runHostile(ctx context.Context, e *env) *result {
	o := e.opt
	r := newResult("hostile")
	s, initial := begin(ctx, e, r, 0,
		"--header-timeout="+o.headerTimeout.String(), "--idle-timeout="+o.idleTimeout.String())
	if s == nil {
		return r
	}
	p := s.proxyd
	normal := startLoad(p.addr, loadConfig{conns: o.normal, interval: 20 * time.Millisecond, maxPerConn: 100000, bodies: true})
	r.check(normal.waitTried(10*time.Second), "well-behaved clients did not start within 10s")
	// The longest a hostile connection may live: the slowest timeout twice (a timeout, then the
	// lingering close after an error answer), and slack for two cores shared with other work.
	settle := 2*max(o.headerTimeout, o.idleTimeout) + 10*time.Second
	sem := make(chan struct{}, o.dialParallel)
	var summaries []string
	kinds := hostileKinds()
	for _, kind := range kinds {
		if ctx.Err() != nil {
			break
		}
		// Each well-behaved client holds one connection all along: between waves, they are all of
		// proxyd's client connections.
		base, err := p.sockets()
		if !r.check(err == nil, "stats: %v", err) {
			break
		}
		peak := startPeakSampler(p.pid, 100*time.Millisecond)
		w := startHostileWave(ctx, p.addr, kind, o.hostile, sem)
		w.engaged.Wait()
		// A client that reads is held until proxyd closes its connection: one that has sent
		// nothing yet reaches proxyd only when it does, or after the second the kernel defers it
		// for (TCP_DEFER_ACCEPT), so proxyd's client connections alone can look settled before it
		// has come.
		closedAll := w.waitClosedByProxyd(ctx, settle)
		held, waited, back := waitClients(ctx, p, base.clients, settle)
		top := peak.finish()
		closedByProxyd := w.closed.Load() // before the release, which ends the rest
		w.finish()
		released, _, _ := waitClients(ctx, p, base.clients, 5*time.Second)

		closed := fmt.Sprintf("%d/%d", closedByProxyd, int64(o.hostile)-w.dialErrs.Load())
		if kind.read == nil {
			closed = "unseen" // it never reads, so it cannot tell
		}
		e.logf("%s: peak fds=%d; client-conns base/held/released=%d/%d/%d backend-conns=%d/%d/%d back-in=%s closed-by-proxyd=%s answers=%s",
			kind.name, top.fds, base.clients, held.clients, released.clients, base.backends, held.backends, released.backends,
			backIn(back, waited), closed, &w.statuses)
		summaries = append(summaries, fmt.Sprintf("%s=%d/%d/%d", kind.name, base.clients, held.clients, released.clients))
		r.check(w.dialErrs.Load() == 0, "%s: %d clients could not connect", kind.name, w.dialErrs.Load())
		r.check(closedAll, "%s: proxyd closed %s connections within %.0fs", kind.name, closed, settle.Seconds())
		r.check(back, "%s: %d client connections still open %.0fs after the wave while its clients hold their end (baseline %d, %d backend connections with them)",
			kind.name, held.clients, waited.Seconds(), base.clients, held.backends)
		r.check(w.answered.errors.Load() == 0, "%s: %d wrong answers (first: %s)", kind.name, w.answered.errors.Load(), w.answered.firstErrors())
	}
	normal.stop()
	after, returned := fdsBack(ctx, e, r, p, initial.fds, "every client left")

	r.figure("kinds=%d clients-per-kind=%d normal-%s", len(kinds), o.hostile, normal.tally.summary())
	r.figure("client-conns(base/held/released): %s", strings.Join(summaries, " "))
	r.figure("fds=%d/%d (start/end) fd-return=%s", initial.fds, after.fds, returned)
	normal.tally.checkNoErrors(r, "well-behaved clients")
	e.finish(r, p)
	return r
}
