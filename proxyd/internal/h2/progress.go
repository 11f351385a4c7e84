package h2

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// progressDeadline keeps a stream's read deadline a progress timeout: each transfer that moves
// bytes pushes it to idle past its last progress. To spare a timer reset per read or write, it
// re-arms only once a quarter of idle has passed since it last did, with a quarter of idle to
// spare: a stream that stops moving ends between idle and 1.25 idle after its last progress. Not
// safe for concurrent use.
type progressDeadline struct {
	set   func(time.Time) error // SetReadDeadline of the stream's response writer
	idle  time.Duration
	armed time.Time // when set was last called
}

// touch records progress at now (or the start of a transfer).
func (d *progressDeadline) touch(now time.Time) {
	if now.Sub(d.armed) >= d.idle/4 {
		d.set(now.Add(d.idle + d.idle/4))
		d.armed = now
	}
}

// streamBody is a stream's request body as the upstream transport reads it, on a goroutine of its
// own: until the response starts, each read must make progress within the idle timeout (a body
// that stops arriving is remembered as stalled); the end of the body (or its failure) starts the
// response-header timer. Once the response streams, the request body may pause as long as it
// likes: a gRPC bidirectional stream's client may stay silent while the server sends.
type streamBody struct {
	io.ReadCloser
	timer *headTimer

	mu       sync.Mutex
	deadline progressDeadline // guarded by mu
	// unbounded is set once the response streams or the handler has returned (then the stream's
	// response writer is done): no deadline is set any more. Guarded by mu.
	unbounded bool
	stalled   bool // a read ran out of the idle timeout; guarded by mu
	// read counts the body bytes read, for the metrics.
	read atomic.Int64
}

// Read reads the body under the progress deadline, and starts the timer at its end (or when
// reading fails: no more of the request will come).
func (b *streamBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if !b.unbounded {
		b.deadline.touch(time.Now())
	}
	b.mu.Unlock()
	n, err := b.ReadCloser.Read(p)
	b.read.Add(int64(n))
	if err != nil {
		b.timer.start(time.Now())
		if errors.Is(err, os.ErrDeadlineExceeded) {
			b.mu.Lock()
			b.stalled = true
			b.mu.Unlock()
		}
	}
	return n, err
}

// stalledOut reports whether the body stopped arriving for the idle timeout.
func (b *streamBody) stalledOut() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stalled
}

// responseStarted lifts the progress deadline once the response streams. From the handler's
// goroutine.
func (b *streamBody) responseStarted() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.unbounded {
		b.unbounded = true
		b.deadline.set(time.Time{})
	}
}

// handlerDone marks the end of the stream's handler: the transport may go on reading, but must not
// touch the stream's response writer any more.
func (b *streamBody) handlerDone() {
	b.mu.Lock()
	b.unbounded = true
	b.mu.Unlock()
}
