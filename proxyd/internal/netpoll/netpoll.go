// Package netpoll reads a socket into a buffer it takes only once bytes are there, so that an idle
// connection needs no read buffer while it waits ([PooledReader]), tells whether an idle socket is
// still quiet, holds idle sockets until they become readable without a goroutine each ([Set], Linux
// only), and writes a request from within the wait for its answer, sparing a read that would find
// nothing ([Sender], Linux only), writes what a socket takes at once without waiting ([TryWrite]),
// reads what a socket has and tells whether the read drained it, so that a caller that goes on
// waiting need not read again first ([TryReadDrained], Linux only), and reads and writes a
// connection as its own Read and Write do, with system calls that leave the runtime's monitor
// thread asleep ([Socket], Linux only; see sys_linux.go).
//
// It asks the kernel with a poll that does not wait, which reads nothing and clears nothing: the
// bytes, the EOF or the socket error that made a socket ready are still there for the next Read.
// How it asks depends on the system:
//
//   - Linux: poll(2) for POLLIN|POLLRDHUP. The peer is gone on POLLERR, or on POLLRDHUP or POLLHUP
//     with nothing unread (SIOCINQ, tcp(7)).
//   - Other Unix systems (macOS, the BSDs, Solaris, AIX) have no POLLRDHUP: poll(2) for POLLIN. The
//     peer is gone on POLLERR, or when the socket is readable (POLLIN or POLLHUP) and a one-byte
//     recv(2) with MSG_PEEK gives EOF or an error rather than a byte or EAGAIN; MSG_PEEK leaves the
//     byte, and on the BSD-derived kernels the pending socket error, in place.
//   - Windows: WSAPoll for POLLRDNORM (golang.org/x/sys/windows does not wrap it, so it is called
//     from ws2_32.dll). The peer is gone on POLLERR, or when the socket is readable (POLLRDNORM or
//     POLLHUP) with nothing unread (FIONREAD, through WSAIoctl). Go's Windows sockets are not in
//     non-blocking mode, so TryRead reads only once WSAPoll reported the socket ready.
//
// On every system Quiet reports true only when the poll reports no event at all, and TryRead never
// waits.
package netpoll

import "syscall"

// Checker asks of one connection, again and again without allocating, whether it is quiet and
// whether its peer is gone: it keeps the connection's RawConn and the callbacks that poll it. It is
// not safe for concurrent use.
type Checker struct {
	rc            syscall.RawConn
	quiet, gone   func(fd uintptr)
	quietA, goneA bool // the last checks' answers
}

// NewChecker returns a Checker for the connection whose RawConn is rc.
func NewChecker(rc syscall.RawConn) *Checker {
	k := &Checker{rc: rc}
	k.quiet = func(fd uintptr) { k.quietA = quiet(fd) }
	k.gone = func(fd uintptr) { k.goneA = peerGone(fd) }
	return k
}

// Quiet reports whether the connection has nothing to read and no EOF or error pending: true for an
// idle keep-alive connection whose peer has neither sent anything nor closed it.
func (k *Checker) Quiet() bool {
	k.quietA = false
	return k.rc.Control(k.quiet) == nil && k.quietA
}

// PeerGone reports whether the peer has reset the connection, or closed it with nothing left
// unread: the next read would return EOF or an error rather than bytes or a wait.
func (k *Checker) PeerGone() bool {
	k.goneA = false
	return k.rc.Control(k.gone) != nil || k.goneA
}

// TryRead reads what fd, a socket, has ready into buf without waiting: n bytes (0 at EOF), or
// wouldBlock when nothing is there yet. It serves as the callback body of a RawConn.Read that waits
// for readability holding no buffer.
func TryRead(fd uintptr, buf []byte) (n int, wouldBlock bool, err error) { return tryRead(fd, buf) }
