package netpoll

import "golang.org/x/sys/unix"

// askEvents are the poll(2) events asked for. POLLRDHUP (Linux only) reports that the peer closed
// its writing side; POLLERR and POLLHUP are reported whether asked for or not.
const askEvents = unix.POLLIN | unix.POLLRDHUP

// endEvents are the poll(2) events that report the end of the peer's data.
const endEvents = unix.POLLRDHUP | unix.POLLHUP

// atEnd reports whether nothing is left unread on fd (SIOCINQ, tcp(7)), so that its next read ends.
// A failing ioctl(2) counts as nothing unread.
func atEnd(fd uintptr) bool {
	n, err := unix.IoctlGetUint32(int(fd), unix.SIOCINQ)
	return err != nil || n == 0
}
