package netpoll

import (
	"errors"
	"net"
	"sync"
	"syscall"
)

// Set holds idle sockets, each until it becomes readable (it has bytes to read, its peer closed or
// reset it, or it failed), without a goroutine or a buffer per socket. Every socket added is
// reported exactly once: its value goes to the set's ready function, either from the set's own
// goroutine when the socket becomes readable, or from Wake. A report never reaches a later socket
// that reuses the descriptor number of a reported one.
//
// On Linux one epoll(7) instance watches the members, each armed for one report: EPOLLIN and
// EPOLLRDHUP with EPOLLONESHOT, which disables it once reported. A reported socket stays in the
// instance, disabled, so that adding it again only re-arms it (EPOLL_CTL_MOD), until it is closed,
// which takes it out; one woken before its report is taken out at once (EPOLL_CTL_DEL), while it
// is still open. The instance is itself in the runtime's poller, as epoll instances nest, so the
// set's goroutine parks in the runtime until some member is ready: the set costs no thread. The
// runtime's own registration of each socket stays as it is. On other systems NewSet fails with an
// error that matches errors.ErrUnsupported.
type Set[T any] struct {
	ready  func(T)
	poller *poller
	done   chan struct{} // closed when the set's goroutine has ended

	mu      sync.Mutex
	err     error             // what ended the set's goroutine before Close; guarded by mu
	closed  bool              // the poller is closed or closing; guarded by mu
	last    Key               // the key of the latest Add; guarded by mu
	members map[Key]member[T] // guarded by mu
}

// Key names one Add to a Set; it is never 0, which callers may take for none. Keys are never
// reused: once its socket is reported, a key matches nothing, whatever socket its descriptor
// number belongs to by then.
type Key uint64

// member is one socket in a Set and the value its report carries.
type member[T any] struct {
	rc syscall.RawConn
	v  T
}

// NewSet returns an empty set that passes the value of each socket it reports to ready, and
// starts the set's goroutine, which watches the members until Close. ready must not block: it
// runs on that goroutine, or on Wake's caller.
func NewSet[T any](ready func(T)) (*Set[T], error) {
	p, err := newPoller()
	if err != nil {
		return nil, err
	}
	s := &Set[T]{ready: ready, poller: p, done: make(chan struct{}), members: make(map[Key]member[T])}
	go s.run()
	return s, nil
}

// NewSetIfSupported returns NewSet(ready), or nil where the system has no sets (err nil then): a
// caller without a set lets its idle sockets wait on goroutines. err is NewSet's failure of
// another kind, with nil.
func NewSetIfSupported[T any](ready func(T)) (*Set[T], error) {
	s, err := NewSet(ready)
	if errors.Is(err, errors.ErrUnsupported) {
		err = nil
	}
	return s, err
}

// run watches the members until Close, reporting each that becomes ready.
func (s *Set[T]) run() {
	defer close(s.done)
	err := s.poller.wait(s.report)
	s.mu.Lock()
	if !s.closed {
		s.err = err
	}
	s.mu.Unlock()
}

// Add puts the socket of rc into the set, to be reported with v, and returns the key that Wake
// takes. A socket that is readable already is reported at once. It fails for a closed socket,
// after Close, and once the set's goroutine has ended with an error.
func (s *Set[T]) Add(rc syscall.RawConn, v T) (Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return 0, net.ErrClosed
	case s.err != nil:
		return 0, s.err
	}
	k := s.last + 1
	if err := s.poller.arm(rc, k); err != nil {
		return 0, err
	}
	s.last = k
	s.members[k] = member[T]{rc: rc, v: v}
	return k, nil
}

// Wake reports the socket added under k now, as if it had become readable: it leaves the set and
// its value goes to the ready function, on the calling goroutine. It reports false, and does
// nothing, when that socket has been reported already.
func (s *Set[T]) Wake(k Key) bool {
	v, ok := s.take(k, true)
	if ok {
		s.ready(v)
	}
	return ok
}

// report reports the socket added under k, which the poller found ready, unless Wake was first.
func (s *Set[T]) report(k Key) {
	if v, ok := s.take(k, false); ok {
		s.ready(v)
	}
}

// take removes member k from the set and returns its value; false when there is none. armed says
// that its socket is still armed, not disabled by its report: it then leaves the epoll instance.
func (s *Set[T]) take(k Key, armed bool) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members[k]
	if !ok {
		return m.v, false
	}
	delete(s.members, k)
	if armed && !s.closed {
		s.poller.disarm(m.rc)
	}
	return m.v, true
}

// Len returns how many sockets are in the set.
func (s *Set[T]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.members)
}

// Close stops the set's goroutine and returns once it has ended, with the error that ended it
// early, if any. Sockets still in the set are never reported. Later calls return nil.
func (s *Set[T]) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.done
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	err := s.poller.close()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	return err
}
