package h2

import (
	"context"
	"net"
	"sync"
)

// tracker counts the connections being served and the streams being proxied, so that Shutdown can
// wait for them and close what is left when its grace period ends. Its methods are safe for
// concurrent use; every field is guarded by mu.
type tracker struct {
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	streams  int
	shutting bool
	// drained is closed once shutting and neither a connection nor a stream is left.
	drained chan struct{}
	closed  bool // drained is closed
}

func newTracker() tracker {
	return tracker{conns: make(map[net.Conn]struct{}), drained: make(chan struct{})}
}

// addConn registers conn; false when the server is shutting down.
func (t *tracker) addConn(conn net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shutting {
		return false
	}
	t.conns[conn] = struct{}{}
	return true
}

// doneConn forgets conn once it is no longer served.
func (t *tracker) doneConn(conn net.Conn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.conns, conn)
	t.checkDrainedLocked()
}

// addStream counts a stream whose handler started. Streams of a connection that is being served
// start before it ends, so a shut-down tracker still counts them.
func (t *tracker) addStream() {
	t.mu.Lock()
	t.streams++
	t.mu.Unlock()
}

// doneStream counts a stream whose handler returned.
func (t *tracker) doneStream() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.streams--
	t.checkDrainedLocked()
}

// shutDown refuses connections from now on.
func (t *tracker) shutDown() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.shutting = true
	t.checkDrainedLocked()
}

// checkDrainedLocked closes drained once shutting and nothing is left. t.mu is held.
func (t *tracker) checkDrainedLocked() {
	if t.shutting && len(t.conns) == 0 && t.streams == 0 && !t.closed {
		t.closed = true
		close(t.drained)
	}
}

// wait returns once everything ended after shutDown, or, when ctx ends first, closes the remaining
// connections (which ends their streams), waits for them and returns ctx's error.
func (t *tracker) wait(ctx context.Context) error {
	t.shutDown()
	select {
	case <-t.drained:
		return nil
	case <-ctx.Done():
	}
	t.mu.Lock()
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	<-t.drained
	return ctx.Err()
}
