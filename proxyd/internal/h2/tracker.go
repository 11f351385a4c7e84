package h2

import (
	"context"
	"sync"
	"time"
)

// tracker keeps the connections being served, so that a shutdown can send each a GOAWAY, wait for
// them and close what is left when its grace period ends. A connection's serve returns only once
// its handlers have, so the connections are all there is to wait for. Its methods are safe for
// concurrent use; every field is guarded by mu.
type tracker struct {
	mu       sync.Mutex
	conns    map[*clientConn]struct{}
	shutting bool
	// drained is closed once shutting and no connection is left.
	drained chan struct{}
	closed  bool // drained is closed
}

func newTracker() tracker {
	return tracker{conns: make(map[*clientConn]struct{}), drained: make(chan struct{})}
}

// addConn registers c; false when the server is shutting down.
func (t *tracker) addConn(c *clientConn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shutting {
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

// doneConn forgets c once it is no longer served.
func (t *tracker) doneConn(c *clientConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.conns, c)
	t.checkDrainedLocked()
}

// shutDown refuses connections from now on, and starts the graceful shutdown of those served.
func (t *tracker) shutDown() {
	t.mu.Lock()
	t.shutting = true
	conns := make([]*clientConn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.checkDrainedLocked()
	t.mu.Unlock()
	for _, c := range conns {
		c.drain()
	}
}

// checkDrainedLocked closes drained once shutting and nothing is left. t.mu is held.
func (t *tracker) checkDrainedLocked() {
	if t.shutting && len(t.conns) == 0 && !t.closed {
		t.closed = true
		close(t.drained)
	}
}

// wait returns once every connection ended after shutDown, or, when ctx ends first, closes the
// remaining connections (which ends their streams), waits for them and returns ctx's error.
func (t *tracker) wait(ctx context.Context) error {
	t.shutDown()
	select {
	case <-t.drained:
		return nil
	case <-ctx.Done():
	}
	t.mu.Lock()
	for c := range t.conns {
		c.close()
	}
	t.mu.Unlock()
	<-t.drained
	return ctx.Err()
}

// askPark asks at now the reader of every connection that has had no stream since before
// idleBefore, and waits for a frame, to park it (see clientConn.await).
func (t *tracker) askPark(now, idleBefore time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns {
		c.askPark(now, idleBefore)
	}
}

// expiredHeads takes the response-header timers of every connection that have run out at now off
// their lists, and appends them to out.
func (t *tracker) expiredHeads(now time.Time, out []*headTimer) []*headTimer {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.conns {
		out = c.heads.expired(now, out)
	}
	return out
}
