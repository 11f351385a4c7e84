//go:build unix && !linux

package netpoll

import "golang.org/x/sys/unix"

// askEvents are the poll(2) events asked for; without POLLRDHUP, the end of the peer's data shows as
// POLLIN. POLLERR and POLLHUP are reported whether asked for or not.
const askEvents = unix.POLLIN

// endEvents are the poll(2) events that may report the end of the peer's data.
const endEvents = unix.POLLIN | unix.POLLHUP

// atEnd reports whether the next read of fd, a non-blocking socket, ends the connection: a one-byte
// recv(2) with MSG_PEEK gives EOF or an error instead of a byte or EAGAIN. MSG_PEEK takes neither
// the byte nor, on the BSD-derived kernels, the pending socket error.
func atEnd(fd uintptr) bool {
	var b [1]byte
	for {
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK)
		switch err {
		case nil:
			return n == 0
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		return true
	}
}
