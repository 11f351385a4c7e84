package netpoll

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// On Linux the package's socket calls are made with unix.RawSyscall: without the scheduler's
// bookkeeping around each (entersyscall, exitsyscall), whose entry wakes the runtime's monitor
// thread (sysmon) whenever it sleeps because every processor was idle. Under keep-alive load a
// proxy's processors go idle between exchanges many times a second, and each wake-up set off
// another millisecond of the monitor's 20 µs polling, which cost proxyd, and the load and the
// backend beside it, more than the calls themselves (scripts/bench/NOTES.md, "Raw system calls"). A
// raw call keeps its processor for its length; every call here is on a non-blocking socket, does
// not wait, and moves at most one buffer.

// sysRead is read(2) of fd into p, retried when a signal interrupts it.
func sysRead(fd uintptr, p []byte) (int, error) {
	return retried(unix.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
}

// sysWrite is write(2) of p to fd, retried when a signal interrupts it.
func sysWrite(fd uintptr, p []byte) (int, error) {
	return retried(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
}

// sysWritev is writev(2) of the first n entries of iov to fd, retried when a signal interrupts it.
func sysWritev(fd uintptr, iov *unix.Iovec, n int) (int, error) {
	return retried(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(iov)), uintptr(n))
}

// sysPoll is poll(2) of fds that does not wait (ppoll(2) with a zero timeout), retried when a
// signal interrupts it.
func sysPoll(fds []unix.PollFd) error {
	var zero unix.Timespec
	_, err := retried(unix.SYS_PPOLL, uintptr(unsafe.Pointer(unsafe.SliceData(fds))), uintptr(len(fds)),
		uintptr(unsafe.Pointer(&zero)))
	return err
}

// retried makes the system call trap with a1, a2 and a3 and no bookkeeping, again as long as a
// signal interrupts it; it returns the call's result, or its errno as the error. Its callers pass
// the addresses of variables on their stacks (a poll(2) array, a msghdr) as uintptr arguments,
// which the runtime does not update if it moves the stack: retried is nosplit, so that its stack
// cannot grow, and so move, between its caller taking those addresses and the system call.
//
//go:nosplit
func retried(trap, a1, a2, a3 uintptr) (int, error) {
	for {
		r, _, errno := unix.RawSyscall(trap, a1, a2, a3)
		switch errno {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		}
		return 0, errno
	}
}
