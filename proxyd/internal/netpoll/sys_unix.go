//go:build unix && !linux

package netpoll

import "golang.org/x/sys/unix"

// Elsewhere than Linux the package's socket calls are golang.org/x/sys/unix's own, retried when a
// signal interrupts them. As on Linux, a failed read or write returns 0 bytes, not -1.

// sysRead is read(2) of fd into p.
func sysRead(fd uintptr, p []byte) (int, error) {
	for {
		n, err := unix.Read(int(fd), p)
		if err != unix.EINTR {
			return max(n, 0), err
		}
	}
}

// sysWrite is write(2) of p to fd.
func sysWrite(fd uintptr, p []byte) (int, error) {
	for {
		n, err := unix.Write(int(fd), p)
		if err != unix.EINTR {
			return max(n, 0), err
		}
	}
}

// sysPoll is poll(2) of fds that does not wait.
func sysPoll(fds []unix.PollFd) error {
	for {
		_, err := unix.Poll(fds, 0)
		if err != unix.EINTR {
			return err
		}
	}
}
