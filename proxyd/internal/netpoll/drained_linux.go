package netpoll

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// inqControl is room for the control message of one TCP_CM_INQ: its header and an int32.
const inqControl = unix.SizeofCmsghdr + 8

func reportDrained(fd uintptr) bool {
	one := int32(1)
	_, _, errno := unix.RawSyscall6(unix.SYS_SETSOCKOPT, fd, unix.SOL_TCP, unix.TCP_INQ,
		uintptr(unsafe.Pointer(&one)), unsafe.Sizeof(one), 0)
	return errno == 0
}

// tryReadDrained reads with recvmsg(2), which with TCP_INQ on passes, beside the bytes, how many
// are left unread once it returns, counting a pending end of the stream as one.
func tryReadDrained(fd uintptr, buf []byte) (n int, drained, wouldBlock bool, err error) {
	var control [inqControl]byte
	iov := unix.Iovec{Base: unsafe.SliceData(buf)}
	iov.SetLen(len(buf))
	msg := unix.Msghdr{Iov: &iov, Iovlen: 1, Control: &control[0]}
	msg.SetControllen(len(control))
	n, wouldBlock, err = readOutcome(retried(unix.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&msg)), 0))
	return n, n > 0 && leftUnread(control[:msg.Controllen]) == 0, wouldBlock, err
}

// leftUnread returns the count of the TCP_CM_INQ message in control, the control data of one
// recvmsg(2), or -1 when there is none.
func leftUnread(control []byte) int32 {
	if len(control) < unix.SizeofCmsghdr+4 {
		return -1
	}
	h := (*unix.Cmsghdr)(unsafe.Pointer(&control[0]))
	if h.Level != unix.SOL_TCP || h.Type != unix.TCP_CM_INQ || h.Len < unix.SizeofCmsghdr+4 {
		return -1
	}
	return *(*int32)(unsafe.Pointer(&control[unix.SizeofCmsghdr]))
}
