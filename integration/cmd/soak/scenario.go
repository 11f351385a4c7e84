//go:build linux

package main

import (
	"context"
	"fmt"
	"time"
)

// begin starts a scenario's backends and proxyd (see startStack; the backends stop when the run
// ends) and reads proxyd's stats before any traffic. When either fails it records why in r and
// returns a nil stack.
func begin(ctx context.Context, e *env, r *result, nofile int, extra ...string) (*stack, stats) {
	s, err := startStack(ctx, e, nofile, extra...)
	if !r.check(err == nil, "start: %v", err) {
		return nil, stats{}
	}
	e.atEnd(s.close)
	before, err := s.proxyd.stats()
	if !r.check(err == nil, "stats: %v", err) {
		return nil, stats{}
	}
	e.logf("before: %s", before)
	return s, before
}

// fdsBack waits, at most the pool's idle time and 5 s, for proxyd's descriptors to come back to
// baseline (-fd-margin more allowed), logs where they are then, and records a failure in r when
// they did not come back. It returns the last reading and how long they took ("never").
func fdsBack(ctx context.Context, e *env, r *result, p *proxydProc, baseline int, since string) (stats, string) {
	after, waited, back := waitFDs(ctx, p, baseline+e.opt.fdMargin, e.opt.poolIdle+5*time.Second)
	so, _ := p.sockets()
	e.logf("%.1fs after %s: %s, %s", waited.Seconds(), since, after, so)
	r.check(back, "descriptors at %d (%s) %.0fs after %s, baseline %d (+%d allowed)",
		after.fds, so, waited.Seconds(), since, baseline, e.opt.fdMargin)
	return after, backIn(back, waited)
}

// afterClients checks that proxyd's resources come back once a load's clients have left: its
// descriptors to before's count (fdsBack) and its memory settling (rssSettles). It records the
// figures before, at the peak top and after, and returns how long the descriptors took.
func afterClients(ctx context.Context, e *env, r *result, p *proxydProc, before, top stats) string {
	after, returned := fdsBack(ctx, e, r, p, before.fds, "the clients left")
	settled, rssNote := rssSettles(ctx, p, top.rssKiB)
	e.logf("memory: %s", rssNote)
	r.figure("fds=%d/%d/%d rss=%.1f/%.1f/%.1fMiB threads=%d/%d/%d (before/peak/after)",
		before.fds, top.fds, after.fds, mib(before.rssKiB), mib(top.rssKiB), mib(after.rssKiB), before.threads, top.threads, after.threads)
	r.check(settled, "memory did not settle: %s", rssNote)
	return returned
}

// finish logs proxyd's warnings and errors, stops it with SIGTERM and records in r whether it
// exited 0 within 10 s.
func (e *env) finish(r *result, p *proxydProc) {
	e.logProblems(p)
	code, took := p.terminate(10 * time.Second)
	r.check(code == 0, "proxyd exited with status %d %.1fs after SIGTERM (want 0 within 10s)", code, took.Seconds())
}

// logProblems logs the summary of proxyd's warnings and errors, if it logged any.
func (e *env) logProblems(p *proxydProc) {
	if s := p.problems(); s != "" {
		e.logf("proxyd warnings and errors: %s", s)
	}
}

// backIn is how long something took to come back, or "never".
func backIn(back bool, waited time.Duration) string {
	if !back {
		return "never"
	}
	return fmt.Sprintf("%.1fs", waited.Seconds())
}
