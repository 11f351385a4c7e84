//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// slowAnswer is how long the slow requests of the shutdown scenario take at the backend.
const slowAnswer = time.Second

// shutdownClients is what the clients of the shutdown scenario saw.
type shutdownClients struct {
	slow      tally        // slow requests: each must be answered
	fast      tally        // answers to fast requests: each must be right
	dropped   tally        // fast requests the backend got whose answer never came: its errors
	boundary  atomic.Int64 // fast connections closed between two requests (the request unseen)
	closeMark atomic.Int64 // answers marked "Connection: close"
}

// runShutdown loads proxyd with -shutdown-conns connections, -shutdown-slow of them waiting for a
// 1 s answer and the others sending requests back to back, and sends SIGTERM once every slow request
// reached the backend. Every request the backends received must be answered completely, new
// connections must be refused while the slow ones finish, and proxyd must exit 0 within
// --shutdown-timeout + 1 s.
func runShutdown(ctx context.Context, e *env) *result {
	o := e.opt
	r := newResult("shutdown")
	s, _ := begin(ctx, e, r, 0, "--shutdown-timeout="+o.shutdownTimeout.String())
	if s == nil {
		return r
	}
	p := s.proxyd
	for _, b := range s.backends {
		b.recording.Store(true)
	}
	var cs shutdownClients
	var wg sync.WaitGroup
	stopFast := make(chan struct{})
	fastN := o.shutdownConns - o.shutdownSlow
	var fastTried sync.WaitGroup
	fastTried.Add(fastN)
	for id := range fastN {
		wg.Go(func() { cs.fastClient(p.addr, id, s.backends, stopFast, &fastTried) })
	}
	for id := range o.shutdownSlow {
		wg.Go(func() { cs.slowClient(p.addr, id, o.shutdownTimeout) })
	}
	fastTried.Wait()
	ready := s.backends[nameAlpha].waitSlow(ctx, int64(o.shutdownSlow), 10*time.Second)
	r.check(ready, "only %d of %d slow requests reached the backend", s.backends[nameAlpha].slowArrived.Load(), o.shutdownSlow)

	sigAt := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	refusedAfter, aliveWhenRefused, accepted := probeRefused(p)
	code, exitedAt := p.waitExit(o.shutdownTimeout + 5*time.Second)
	exitAfter := exitedAt.Sub(sigAt)
	close(stopFast)
	wg.Wait()
	e.logProblems(p)
	e.logf("SIGTERM: new connections refused after %s (proxyd still running: %v, %d accepted before), exit %d after %.2fs",
		refusedAfter, aliveWhenRefused, accepted, code, exitAfter.Seconds())

	r.figure("conns=%d slow=%d slow-answered=%d/%d fast-%s", o.shutdownConns, o.shutdownSlow,
		cs.slow.requests.Load()-cs.slow.errors.Load(), o.shutdownSlow, cs.fast.summary())
	r.figure("dropped-in-flight=%d closed-at-boundary=%d close-marked=%d refused-after=%s exit=%d in %.2fs",
		cs.dropped.errors.Load(), cs.boundary.Load(), cs.closeMark.Load(), refusedAfter, code, exitAfter.Seconds())
	cs.slow.checkNoErrors(r, "slow requests in flight")
	r.check(cs.slow.requests.Load() == int64(o.shutdownSlow), "%d of %d slow requests ended", cs.slow.requests.Load(), o.shutdownSlow)
	cs.fast.checkNoErrors(r, "fast requests")
	r.check(cs.dropped.errors.Load() == 0, "%d requests reached the backend but their answer never reached the client (first: %s)",
		cs.dropped.errors.Load(), cs.dropped.firstErrors())
	r.check(aliveWhenRefused, "new connections were not refused while proxyd finished its in-flight requests (refused after %s)", refusedAfter)
	r.check(code == 0 && exitAfter <= o.shutdownTimeout+time.Second, "exit status %d after %.2fs, want 0 within %s",
		code, exitAfter.Seconds(), o.shutdownTimeout+time.Second)
	return r
}

// slowClient GETs a path the backend answers after slowAnswer, and wants the whole answer.
func (cs *shutdownClients) slowClient(addr string, id int, grace time.Duration) {
	t := target{fmt.Sprintf("/alpha/slow/%d?%s=%d", id, paramSlow, slowAnswer.Milliseconds()), nameAlpha}
	c, err := dialClient(addr, requestTimeout)
	if err != nil {
		cs.slow.record(err)
		return
	}
	defer c.close()
	_, err = t.get(c, slowAnswer+grace+5*time.Second)
	cs.slow.record(err)
}

// fastClient sends GETs back to back on one connection until proxyd closes it or stop. A request
// without an answer is fine only when the backend never got it: proxyd closed the connection
// between two requests.
func (cs *shutdownClients) fastClient(addr string, id int, backends map[string]*namedBackend, stop chan struct{}, tried *sync.WaitGroup) {
	once := sync.OnceFunc(tried.Done)
	defer once()
	c, err := dialClient(addr, requestTimeout)
	if err != nil {
		cs.fast.record(err)
		return
	}
	defer c.close()
	for i := 0; i < 1000000; i++ {
		select {
		case <-stop:
			return
		default:
		}
		t := mixedTarget(id, i)
		rep, err := c.roundTrip(getRequest(t.path), time.Now().Add(requestTimeout))
		once()
		if err != nil {
			if backends[t.backend].received(t.path) {
				cs.dropped.record(fmt.Errorf("%s: %w", t.path, err))
			} else {
				cs.boundary.Add(1)
			}
			return
		}
		cs.fast.record(t.check(rep, t.path))
		if rep.close {
			cs.closeMark.Add(1)
			return
		}
	}
}

// probeRefused dials proxyd every 10 ms (at most 200 times) until a connection is refused. It
// returns how long after the first try that was, whether proxyd was still running then, and how
// many dials connected before.
func probeRefused(p *proxydProc) (string, bool, int) {
	start := time.Now()
	accepted := 0
	for range 200 {
		nc, err := net.DialTimeout("tcp", p.addr, time.Second)
		if errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Sprintf("%dms", time.Since(start).Milliseconds()), !p.exited(), accepted
		}
		if err == nil {
			accepted++
			nc.Close()
		}
		time.Sleep(10 * time.Millisecond) // the probe's pace: there is no signal to wait for
	}
	return "never", false, accepted
}
