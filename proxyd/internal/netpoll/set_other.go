//go:build !linux

package netpoll

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
)

// poller stands for the epoll instance of a Set where there is none: newPoller fails, so no Set
// exists and its methods are never called.
type poller struct{}

// newPoller fails: a Set needs epoll(7).
func newPoller() (*poller, error) {
	return nil, fmt.Errorf("netpoll.Set on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func (*poller) arm(syscall.RawConn, Key) error { return errors.ErrUnsupported }
func (*poller) disarm(syscall.RawConn)         {}
func (*poller) wait(func(Key)) error           { return errors.ErrUnsupported }
func (*poller) close() error                   { return nil }
