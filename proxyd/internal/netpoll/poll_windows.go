package netpoll

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// WSAPoll events (WSAPOLLFD, winsock2.h), which golang.org/x/sys/windows does not define. POLLERR
// and POLLHUP are reported whether asked for or not.
const (
	pollRdNorm = 0x0100 // normal data, or the end of the stream, may be read without blocking
	pollErr    = 0x0001
	pollHup    = 0x0002
)

// fionRead is FIONREAD of winsock2.h, _IOR('f', 127, u_long): how many bytes wait to be read.
const fionRead = windows.IOC_OUT | 4<<16 | 'f'<<8 | 127

// wsaPollFd is WSAPOLLFD of winsock2.h.
type wsaPollFd struct {
	fd      windows.Handle
	events  int16
	revents int16
}

// procWSAPoll is WSAPoll of ws2_32.dll, which golang.org/x/sys/windows does not wrap; it is loaded
// from the system directory on first use and never changes.
var procWSAPoll = windows.NewLazySystemDLL("ws2_32.dll").NewProc("WSAPoll")

// events returns what WSAPoll reports for fd at once, asked for POLLRDNORM without waiting.
func events(fd uintptr) (int16, error) {
	if err := procWSAPoll.Find(); err != nil {
		return 0, err
	}
	p := wsaPollFd{fd: windows.Handle(fd), events: pollRdNorm}
	// A zero timeout: do not wait. WSAPoll returns an int, SOCKET_ERROR (-1) on failure.
	r, _, errno := syscall.SyscallN(procWSAPoll.Addr(), uintptr(unsafe.Pointer(&p)), 1, 0)
	if int32(r) < 0 {
		return 0, os.NewSyscallError("WSAPoll", errno)
	}
	return p.revents, nil
}

// quiet reports whether WSAPoll reports nothing at all for fd.
func quiet(fd uintptr) bool {
	ev, err := events(fd)
	return err == nil && ev == 0
}

// peerGone reports whether fd has an error pending, or is readable with nothing unread: its next
// read gives EOF or an error. A failing WSAPoll counts as gone.
func peerGone(fd uintptr) bool {
	ev, err := events(fd)
	return err != nil || ev&pollErr != 0 || ev&(pollRdNorm|pollHup) != 0 && unread(fd) == 0
}

// unread returns how many bytes wait to be read on fd (FIONREAD); 0 when it cannot tell.
func unread(fd uintptr) uint32 {
	var n, size uint32
	err := windows.WSAIoctl(windows.Handle(fd), fionRead, nil, 0, (*byte)(unsafe.Pointer(&n)), uint32(unsafe.Sizeof(n)), &size, nil, 0)
	if err != nil {
		return 0
	}
	return n
}

// tryRead reads from fd once WSAPoll reports it ready, with a synchronous WSARecv: Go's Windows
// sockets are not in non-blocking mode, so reading a socket with nothing ready would block.
func tryRead(fd uintptr, buf []byte) (n int, wouldBlock bool, err error) {
	ev, err := events(fd)
	switch {
	case err != nil:
		return 0, false, err
	case ev == 0:
		return 0, true, nil
	}
	var b windows.WSABuf
	b.Len = uint32(len(buf))
	if len(buf) > 0 {
		b.Buf = &buf[0]
	}
	var got, flags uint32
	switch err := windows.WSARecv(windows.Handle(fd), &b, 1, &got, &flags, nil, nil); err {
	case nil:
		return int(got), false, nil
	case windows.WSAEWOULDBLOCK: // a socket put in non-blocking mode elsewhere
		return 0, true, nil
	default:
		return 0, false, err
	}
}
