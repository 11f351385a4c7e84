//go:build !linux

package netpoll

func reportDrained(uintptr) bool { return false }

func tryReadDrained(fd uintptr, buf []byte) (n int, drained, wouldBlock bool, err error) {
	n, wouldBlock, err = tryRead(fd, buf)
	return n, false, wouldBlock, err
}
