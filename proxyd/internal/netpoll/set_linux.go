package netpoll

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// armEvents are the epoll(7) events a member of a Set is armed for: readable (bytes or the end of
// the stream) and the peer's end of writing (EPOLLRDHUP); EPOLLERR and EPOLLHUP are reported
// whether asked for or not. EPOLLONESHOT disables the member after its first report, so that it
// is reported once.
const armEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// waitBatch is how many events one epoll_wait(2) returns at most.
const waitBatch = 128

// poller is the epoll instance of a Set. The instance is in the runtime's poller too (through
// file), which reports it readable while a member is ready. The Set calls arm and disarm with its
// mu held, never after close: they share the fields below fd, and fd is open until then.
type poller struct {
	file *os.File        // the instance
	rc   syscall.RawConn // of file
	fd   int             // of file

	// The epoll_ctl(2) call that ctl makes on the descriptor that RawConn.Control passes it, and its
	// error; ctl is made once so that arming allocates nothing.
	op  int
	ev  unix.EpollEvent
	err error
	ctl func(fd uintptr)
}

// newPoller creates the epoll instance, non-blocking so that os.NewFile puts it in the runtime's
// poller.
func newPoller() (*poller, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	file := os.NewFile(uintptr(fd), "epoll")
	rc, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, err
	}
	p := &poller{file: file, rc: rc, fd: fd}
	p.ctl = func(fd uintptr) { p.err = unix.EpollCtl(p.fd, p.op, int(fd), &p.ev) }
	return p, nil
}

// control makes epoll_ctl(2) op on the socket of rc, with event ev. Control holds the socket's
// descriptor open meanwhile, so that the number cannot name another socket by then.
func (p *poller) control(rc syscall.RawConn, op int, ev unix.EpollEvent) error {
	p.op, p.ev, p.err = op, ev, nil
	if err := rc.Control(p.ctl); err != nil {
		return err
	}
	return p.err
}

// arm arms the socket of rc for one report with key k: a socket reported before is still in the
// instance, disabled, and is re-armed; another is added.
func (p *poller) arm(rc syscall.RawConn, k Key) error {
	// The event data is 64 bits, which EpollEvent splits into Fd and Pad: the kernel hands them back
	// as they were given.
	ev := unix.EpollEvent{Events: armEvents, Fd: int32(uint32(k)), Pad: int32(uint32(k >> 32))}
	err := p.control(rc, unix.EPOLL_CTL_MOD, ev)
	if errors.Is(err, unix.ENOENT) {
		err = p.control(rc, unix.EPOLL_CTL_ADD, ev)
	}
	if errno, ok := errors.AsType[syscall.Errno](err); ok {
		return os.NewSyscallError("epoll_ctl", errno)
	}
	return err
}

// disarm takes the socket of rc out of the instance. A socket closed already has left it with its
// descriptor: nothing is left to do.
func (p *poller) disarm(rc syscall.RawConn) { p.control(rc, unix.EPOLL_CTL_DEL, unix.EpollEvent{}) }

// wait passes the key of every member reported to report, until close; what ends it then is of no
// interest. Members are reported in batches of at most waitBatch, each batch fetched without
// waiting while the runtime's poller reports the instance readable.
func (p *poller) wait(report func(Key)) error {
	events := make([]unix.EpollEvent, waitBatch)
	var err error
	rerr := p.rc.Read(func(fd uintptr) bool {
		for {
			var n int
			n, err = unix.EpollWait(int(fd), events, 0)
			switch {
			case err == unix.EINTR:
				continue
			case err != nil:
				err = os.NewSyscallError("epoll_wait", err)
				return true
			}
			for _, ev := range events[:n] {
				report(Key(uint32(ev.Fd)) | Key(uint32(ev.Pad))<<32)
			}
			if n < len(events) {
				return false // nothing more is ready: park until the instance is readable again
			}
		}
	})
	if err != nil {
		return err
	}
	return rerr
}

// close closes the instance, which ends wait.
func (p *poller) close() error { return p.file.Close() }
