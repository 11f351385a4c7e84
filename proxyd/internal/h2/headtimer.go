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
// gRPC client stream may take as long as it likes). Its methods are safe for concurrent use: the
// transport reads the body on a goroutine of its own.
type headTimer struct {
	backend string          // the backend's address, for the error
	limit   time.Duration   // the response-header timeout
	w       *responseWriter // the stream's: the timer ends its request's context (cancelRequest)

	mu      sync.Mutex
	timer   *time.Timer // armed by start; guarded by mu
	stopped bool        // the response head came or the request failed; guarded by mu
}

// start arms the timer, once; not after stop.
func (t *headTimer) start() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer == nil && !t.stopped {
		t.timer = time.AfterFunc(t.limit, t.fire)
	}
}

// fire cancels the request, from the timer's goroutine; the error is made only now, since the
// timer seldom fires.
func (t *headTimer) fire() {
	t.w.cancelRequest(&ResponseTimeoutError{Backend: t.backend, Limit: t.limit})
}

// stop disarms the timer for good.
func (t *headTimer) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
	}
}
