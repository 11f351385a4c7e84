package netpoll

// TryReadDrained is TryRead, which also reports whether the read left the socket drained: nothing
// more to read and no end of the stream pending, as far as the kernel knew when the read returned.
// Any byte or end that comes after a drained read makes the socket ready anew, so a caller that
// keeps waiting within the same RawConn.Read need not read again before it waits. drained is false
// unless ReportDrained has been called for the socket and the system tells (Linux).
func TryReadDrained(fd uintptr, buf []byte) (n int, drained, wouldBlock bool, err error) {
	return tryReadDrained(fd, buf)
}

// ReportDrained asks the kernel to tell TryReadDrained, from then on, how much each read of the
// socket fd leaves unread. It reports whether the system can (Linux 4.18 and later: TCP_INQ, see
// tcp(7)); once is enough for a socket.
func ReportDrained(fd uintptr) bool { return reportDrained(fd) }
