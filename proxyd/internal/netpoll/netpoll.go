// Package netpoll waits for a socket to become readable without reading from it, so that an idle
// connection needs no read buffer while it waits, and tells whether an idle socket is still quiet.
//
// It asks the kernel with ppoll(2) and a zero timeout, which reads nothing and clears nothing: the
// bytes, the EOF or the socket error that made a socket ready are still there for the next Read.
package netpoll

import (
	"syscall"
	"unsafe"
)

// Poll events (poll(2)). POLLERR and POLLHUP are reported whether asked for or not.
const (
	pollIn    = 0x1
	pollErr   = 0x8
	pollHup   = 0x10
	pollRdHup = 0x2000 // the peer closed its writing side
)

// pollFd is struct pollfd of poll(2).
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

// events returns what ppoll(2) reports for fd at once, without waiting; a failing call reports
// pollErr.
func events(fd uintptr) int16 {
	p := pollFd{fd: int32(fd), events: pollIn | pollRdHup}
	var now syscall.Timespec // a zero timeout: do not wait
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&p)), 1, uintptr(unsafe.Pointer(&now)), 0, 0, 0)
		switch errno {
		case 0:
			return p.revents
		case syscall.EINTR:
			continue
		}
		return pollErr
	}
}

// ready reports whether fd has bytes to read, EOF or an error pending.
func ready(fd uintptr) bool { return events(fd) != 0 }

// WaitReadable blocks until c has bytes to read, has reached EOF or has failed. It returns an error
// when the read deadline of c passes (os.ErrDeadlineExceeded) or c is closed while waiting; the
// readiness itself (data, EOF, socket error) is left for the next Read to report.
func WaitReadable(c syscall.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Read(ready)
}

// PeerGone reports whether the peer of c has reset the connection, or closed it with nothing left
// unread: its next read would return EOF or an error rather than bytes or a wait.
func PeerGone(c syscall.Conn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return true
	}
	gone := false
	err = rc.Control(func(fd uintptr) {
		ev := events(fd)
		gone = ev&pollErr != 0 || ev&(pollRdHup|pollHup) != 0 && unread(fd) == 0
	})
	return err != nil || gone
}

// unread returns how many bytes wait to be read on fd (FIONREAD).
func unread(fd uintptr) int {
	var n int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); errno != 0 {
		return 0
	}
	return int(n)
}

// TryRead reads what fd, a non-blocking socket, has ready into buf without waiting: n bytes (0 at
// EOF), or wouldBlock when nothing is there yet. It serves as the callback body of a RawConn.Read
// that waits for readability holding no buffer.
func TryRead(fd uintptr, buf []byte) (n int, wouldBlock bool, err error) {
	for {
		n, err := syscall.Read(int(fd), buf)
		switch err {
		case nil:
			return n, false, nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, true, nil
		}
		return 0, false, err
	}
}

// Quiet reports whether c has nothing to read and no EOF or error pending: true for an idle
// keep-alive connection whose peer has neither sent anything nor closed it.
func Quiet(c syscall.Conn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	quiet := false
	err = rc.Control(func(fd uintptr) { quiet = events(fd) == 0 })
	return err == nil && quiet
}
