package h2

import (
	"fmt"
	"sync"
	"time"
)

// ResponseTimeoutError is the cause of a stream's upstream request cancelled because the backend
// sent no response head within the response-header timeout of the end of the request body.
type ResponseTimeoutError struct {
	// Backend is the backend's address.
	Backend string
	// Limit is the response-header timeout.
	Limit time.Duration
}

func (e *ResponseTimeoutError) Error() string {
	return fmt.Sprintf("backend %s sent no response head within %v of the end of the request", e.Backend, e.Limit)
}

// headTimer cancels an upstream request with a *ResponseTimeoutError when its response head does
// not come within the limit, counted from the end of the request body, as for HTTP/1.x clients (a
// gRPC client stream may take as long as it likes). No runtime timer is armed: start puts it on
// its connection's list (headTimers), which the server's sweeper checks on every tick
// (Server.CheckStreams), so that it fires at most a tick late. Its methods are safe for concurrent
// use: the transport reads the body on a goroutine of its own.
type headTimer struct {
	backend string          // the backend's address, for the error
	w       *responseWriter // the stream's: the timer ends its request's context (cancelRequest)
	list    *headTimers     // the stream's connection's, which holds the limit

	// Guarded by list.mu:
	prev, next *headTimer // on list while armed
	armedAt    time.Time  // when start armed it
	armed      bool       // on list
	stopped    bool       // stop was called: the response head came or the request failed
	fired      bool       // taken off the list to fire (see headTimers.expired)
	timedOut   bool       // fire cancelled the request before stop was called
}

// start arms the timer at now, once; not after stop, nor once it fired.
func (t *headTimer) start(now time.Time) {
	l := t.list
	l.mu.Lock()
	defer l.mu.Unlock()
	if !t.armed && !t.stopped && !t.fired {
		t.armed, t.armedAt = true, now
		l.push(t)
	}
}

// stop disarms the timer for good, once the response head came or the request failed. It reports
// whether the timer fired first and cancelled the request: then a response that came meanwhile is
// not to be relayed, for its body is cut off.
func (t *headTimer) stop() (timedOut bool) {
	l := t.list
	l.mu.Lock()
	defer l.mu.Unlock()
	t.stopped = true
	if t.armed {
		l.remove(t)
	}
	return t.timedOut
}

// idle reports whether the timer is neither armed nor taken off the list to fire: nothing but
// the stream still reaches it.
func (t *headTimer) idle() bool {
	l := t.list
	l.mu.Lock()
	defer l.mu.Unlock()
	return !t.armed && !t.fired
}

// fire cancels the request, from the sweeper's goroutine, unless the head came to a call started
// on the connection's reader that waits for its body's first bytes (see h2upstream.Start), or the
// stream's handler took the response already (stop): the timer is then done.
func (t *headTimer) fire() {
	if !t.w.st.upstreamCall().HeadCame() && t.cancels() {
		t.w.cancelRequest(t.err())
	}
}

// cancels reports whether the timer, taken off the list to fire, is to cancel the request: false
// once stop has taken the response (or the failure) that came meanwhile.
func (t *headTimer) cancels() bool {
	l := t.list
	l.mu.Lock()
	defer l.mu.Unlock()
	t.timedOut = !t.stopped
	return t.timedOut
}

// err returns the error of the request the timer cancels. It is made only when needed, since the
// timer seldom fires.
func (t *headTimer) err() error {
	return &ResponseTimeoutError{Backend: t.backend, Limit: t.list.limit}
}

// headTimers lists the armed response-header timers of one client connection's streams in the
// order they were armed. They share one limit, so the first on the list is the first to run out,
// and a check looks no further than the timers that have. Its methods are safe for concurrent use.
type headTimers struct {
	limit       time.Duration // the response-header timeout
	mu          sync.Mutex
	first, last *headTimer // guarded by mu
}

// push appends t to the list. l.mu is held.
func (l *headTimers) push(t *headTimer) {
	t.prev, t.next = l.last, nil
	if l.last == nil {
		l.first = t
	} else {
		l.last.next = t
	}
	l.last = t
}

// remove takes t, armed, off the list. l.mu is held.
func (l *headTimers) remove(t *headTimer) {
	if t.prev == nil {
		l.first = t.next
	} else {
		t.prev.next = t.next
	}
	if t.next == nil {
		l.last = t.prev
	} else {
		t.next.prev = t.prev
	}
	t.prev, t.next, t.armed = nil, nil, false
}

// expired takes the timers that have run out at now off the list, marked fired, and appends them to
// out, for the caller to fire outside the lock.
func (l *headTimers) expired(now time.Time, out []*headTimer) []*headTimer {
	l.mu.Lock()
	defer l.mu.Unlock()
	for t := l.first; t != nil && now.Sub(t.armedAt) >= l.limit; t = l.first {
		l.remove(t)
		t.fired = true
		out = append(out, t)
	}
	return out
}
