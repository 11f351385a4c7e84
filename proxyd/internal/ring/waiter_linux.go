package ring

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Waiter lets the goroutine of a ring wait for its completions in the runtime's poller, its
// processor free meanwhile, and lets other goroutines wake it. The ring signals an eventfd for
// every completion it posts, and Wake signals it too. The eventfd is never read: the poller
// watches it edge-triggered, and every signal is an edge.
type Waiter struct {
	efd    int
	file   *os.File
	raw    syscall.RawConn
	closed atomic.Bool
}

// NewWaiter makes the waiter of r.
func NewWaiter(r *Ring) (*Waiter, error) {
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	file := os.NewFile(uintptr(efd), "ring eventfd")
	if err := r.RegisterEventfd(efd); err != nil {
		file.Close()
		return nil, err
	}
	raw, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, err
	}
	return &Waiter{efd: efd, file: file, raw: raw}, nil
}

// Wait calls pass, and again each time the ring posts a completion or Wake is called, until pass
// reports true; it returns nil then, or the error of the wait (os.ErrClosed once Close is called).
// A signal that comes while pass runs makes it run again: pass need not see what came after its
// last look.
func (w *Waiter) Wait(pass func() (done bool)) error {
	err := w.raw.Read(func(uintptr) bool { return pass() })
	if err != nil && w.closed.Load() {
		return os.ErrClosed
	}
	return err
}

// Wake makes the waiting goroutine run its pass, now or as soon as the current one ends. It may be
// called from any goroutine.
func (w *Waiter) Wake() error {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, err := unix.Write(w.efd, one[:])
	if err == unix.EAGAIN {
		return nil // the counter is full: the eventfd is signalled already
	}
	return err
}

// Close ends the wait with os.ErrClosed and closes the eventfd. The ring holds the eventfd itself,
// not its descriptor's number, which another file may take: it signals nothing else meanwhile.
func (w *Waiter) Close() error {
	w.closed.Store(true)
	return w.file.Close()
}
