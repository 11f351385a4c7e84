//go:build unix && !linux

package netpoll

import "golang.org/x/sys/unix"

// Elsewhere than Linux the package's socket calls are golang.org/x/sys/unix's own, retried when a
// signal interrupts them. As on Linux, a failed call returns 0, not -1.

// sysRead is read(2) of fd into p.
func sysRead(fd uintptr, p []byte) (int, error) {
	return uninterrupted(func() (int, error) { return unix.Read(int(fd), p) })
}

// sysWrite is write(2) of p to fd.
func sysWrite(fd uintptr, p []byte) (int, error) {
	return uninterrupted(func() (int, error) { return unix.Write(int(fd), p) })
}

// sysPoll is poll(2) of fds that does not wait.
func sysPoll(fds []unix.PollFd) error {
	_, err := uninterrupted(func() (int, error) { return unix.Poll(fds, 0) })
	return err
}

// uninterrupted makes call again as long as a signal interrupts it, and returns its result, 0
// when it failed.
func uninterrupted(call func() (int, error)) (int, error) {
	for {
		n, err := call()
		if err != unix.EINTR {
			return max(n, 0), err
		}
	}
}
