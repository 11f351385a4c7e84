package netpoll

import "syscall"

// TryWrite writes what the kernel takes of p at once, with one write(2) that does not wait for the
// socket whose RawConn is rc, and returns how many bytes it took: 0 when the socket's send buffer
// is full or the write fails (the caller's next, waiting, write reports why), and always 0 where
// the system has no such write (Windows). It is for a writer that must not wait, which leaves the
// rest to another.
func TryWrite(rc syscall.RawConn, p []byte) int {
	if len(p) == 0 {
		return 0
	}
	n := 0
	rc.Write(func(fd uintptr) bool {
		n = writeOnce(fd, p)
		return true // done: no wait for writability
	})
	return n
}
