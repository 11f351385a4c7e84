// Package netpoll waits for a socket to become readable without reading from it, so that an idle
// connection needs no read buffer while it waits, and tells whether an idle socket is still quiet.
package netpoll

import (
	"syscall"
	"unsafe"
)

// peekFlags asks recv(2) to look at the next byte without taking it and without blocking.
const peekFlags = syscall.MSG_PEEK | syscall.MSG_DONTWAIT

// peek reports whether fd has a byte to read, EOF or an error pending (ready), or nothing yet.
func peek(fd uintptr) (ready bool) {
	var b [1]byte
	_, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1, peekFlags, 0, 0)
	return errno != syscall.EAGAIN && errno != syscall.EINTR
}

// WaitReadable blocks until c has bytes to read, has reached EOF or has failed. It returns an error
// when the read deadline of c passes (os.ErrDeadlineExceeded) or c is closed while waiting; the
// readiness itself (data, EOF, socket error) is left for the next Read to report.
func WaitReadable(c syscall.Conn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Read(peek)
}

// PeerGone reports whether the peer of c has closed or reset the connection: its next read would
// return EOF or an error rather than bytes or a wait.
func PeerGone(c syscall.Conn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return true
	}
	gone := false
	err = rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, errno := syscall.Syscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1, peekFlags, 0, 0)
		gone = (errno == 0 && n == 0) || (errno != 0 && errno != syscall.EAGAIN && errno != syscall.EINTR)
	})
	return err != nil || gone
}

// Quiet reports whether c has nothing to read and no EOF or error pending: true for an idle
// keep-alive connection whose peer has neither sent anything nor closed it.
func Quiet(c syscall.Conn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	quiet := false
	err = rc.Control(func(fd uintptr) { quiet = !peek(fd) })
	return err == nil && quiet
}
