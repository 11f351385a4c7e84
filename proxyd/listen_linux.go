package main

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// deferAccept makes the kernel hand over a connection only once its first bytes have come, or
// once it has sent nothing for about a second (TCP_DEFER_ACCEPT, tcp(7)).
func deferAccept(_, _ string, c syscall.RawConn) error {
	var err error
	if cerr := c.Control(func(fd uintptr) {
		err = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1)
	}); cerr != nil {
		return cerr
	}
	return err
}
