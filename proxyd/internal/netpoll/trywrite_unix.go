//go:build unix

package netpoll

// writeOnce writes p to the non-blocking socket fd with one write(2), retried only when a signal
// interrupts it; it returns the bytes written, 0 on any failure.
func writeOnce(fd uintptr, p []byte) int {
	n, _ := sysWrite(fd, p)
	return n
}
