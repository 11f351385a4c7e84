//go:build unix

package netpoll

import "golang.org/x/sys/unix"

// writeOnce writes p to the non-blocking socket fd with one write(2), retried only when a signal
// interrupts it; it returns the bytes written, 0 on any failure.
func writeOnce(fd uintptr, p []byte) int {
	for {
		n, err := unix.Write(int(fd), p)
		if err == unix.EINTR {
			continue
		}
		return max(n, 0)
	}
}
