//go:build linux

package wire

import (
	"io"
	"math/bits"
	"net"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxSpliceSize is the most one splice(2) call asks to move, and the most the pipe is grown to hold
// (1 MiB, the default of /proc/sys/fs/pipe-max-size).
const maxSpliceSize = 1 << 20

// defaultPipeSize returns the size the kernel gives a new pipe: 16 pages, 64 KiB where pages are
// 4 KiB.
func defaultPipeSize() int64 { return 16 * int64(os.Getpagesize()) }

// spliceFlags: the pipe ends never block (the sockets are non-blocking already), and the kernel may
// move pages rather than copy them (splice(2)).
const spliceFlags = unix.SPLICE_F_NONBLOCK | unix.SPLICE_F_MOVE

// The pipe's system calls are raw (unix.RawSyscall): without the Go scheduler's bookkeeping around
// each (entersyscall, exitsyscall), whose entry wakes the runtime's monitor thread whenever it
// sleeps because every processor was idle: relaying a 256 MiB download, proxyd's splices set off
// about 550 of the monitor's sleeps (nanosleep(2)), and 20 once raw. A raw call keeps its processor
// for its length. None of these waits: both ends of every splice are non-blocking, and one moves at
// most the pipe's size (maxSpliceSize).

// rawSplice is splice(2) of up to n bytes from fd in to fd out with spliceFlags.
func rawSplice(in, out, n int) (int, error) {
	r, _, errno := unix.RawSyscall6(unix.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0, uintptr(n), spliceFlags)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// setLowat sets the SO_RCVLOWAT (socket(7)) of rc's socket to n bytes: a wait for it to be
// readable ends once that much has queued, or at its end or an error. A raw call too.
func setLowat(rc syscall.RawConn, n int) error {
	var errno syscall.Errno
	err := rc.Control(func(fd uintptr) {
		v := int32(n)
		_, _, errno = unix.RawSyscall6(unix.SYS_SETSOCKOPT, fd, unix.SOL_SOCKET, unix.SO_RCVLOWAT,
			uintptr(unsafe.Pointer(&v)), 4, 0)
	})
	if err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// rawClose is close(2) of fd, one end of a pipe.
func rawClose(fd int) { unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0) }

// splice moves up to n bytes from src to dst through a pipe with splice(2), without copying them
// through user space, when both are *net.TCPConn (src may be a TCPSource, dst a TCPSink). It
// reports handled == false, having moved nothing, when it cannot (other types, no pipe, a kernel
// without splice for these sockets).
//
// Unlike io.Copy, which splices too, it tells the failing side apart: the error is a *ReadError
// (wrapping io.EOF when the source ended) or a *WriteError. Deadlines of both connections apply.
// What it moves is counted in progress; the pipe grows as far as pipes allows. When the body is
// known to end after n bytes (known) and there is a progress to hurry it, a fast source's bytes
// are batched (batcher).
func splice(dst io.Writer, src io.Reader, n int64, known bool, progress *Progress, pipes *PipeBudget) (written int64, handled bool, err error) {
	s, d := tcpConnOf(src), tcpConnOf(dst)
	if d == nil || s == nil {
		return 0, false, nil
	}
	rs, err := s.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	rd, err := d.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	p := pipeSplicer{progress: progress}
	if err := p.open(n, pipes); err != nil {
		return 0, false, nil
	}
	defer p.close()
	var batch *batcher
	if known && progress != nil {
		batch = &batcher{rc: rs, progress: progress}
		defer batch.stop()
	}
	drain, pump := p.drain, p.pump
	for n > 0 {
		p.max = int(min(n, maxSpliceSize))
		if err := rs.Read(drain); err != nil {
			return p.moved, true, &ReadError{err}
		}
		switch {
		case p.errno != nil && p.moved == 0 && unsupported(p.errno):
			return 0, false, nil
		case p.errno != nil:
			return p.moved, true, &ReadError{os.NewSyscallError("splice", p.errno)}
		case p.inPipe == 0:
			return p.moved, true, &ReadError{io.EOF}
		}
		n -= int64(p.inPipe)
		if batch != nil {
			batch.after(p.inPipe, n)
		}
		progress.setWriting(true)
		err := rd.Write(pump)
		progress.setWriting(false)
		if err != nil {
			return p.moved, true, &WriteError{err}
		}
		if p.errno != nil {
			return p.moved, true, &WriteError{os.NewSyscallError("splice", p.errno)}
		}
	}
	return p.moved, true, nil
}

// tcpConnOf returns the TCP connection end is, or names as a TCPSource or a TCPSink does; nil for
// any other end.
func tcpConnOf(end any) *net.TCPConn {
	switch end := end.(type) {
	case *net.TCPConn:
		return end
	case interface{ TCPConn() *net.TCPConn }:
		return end.TCPConn()
	}
	return nil
}

// unsupported reports whether a splice(2) error means the kernel cannot splice these sockets, so
// that a plain copy should be used instead.
func unsupported(errno error) bool {
	return errno == unix.EINVAL || errno == unix.ENOSYS || errno == unix.EPERM
}

// pipeSplicer moves bytes from a socket into its pipe (drain) and from the pipe to a socket (pump).
// Its methods are the callbacks of syscall.RawConn Read and Write.
type pipeSplicer struct {
	pipe   [2]int // read end, write end
	max    int    // how much drain may move
	inPipe int    // bytes in the pipe
	moved  int64  // bytes pumped out so far
	errno  error  // the error of the last splice(2) call

	progress *Progress // counts what drain and pump move

	pipes *PipeBudget // what the pipe's growth is taken from
	grown int64       // the pipe's growth beyond defaultPipeSize, taken from pipes
}

// open makes the pipe for moving n bytes and grows it from the kernel's default to hold
// min(n, maxSpliceSize), as far as pipes allows: each splice(2) then moves up to that much, so a
// large body takes a sixteenth of the calls. Where the budget is spent or the kernel refuses to
// grow the pipe (an unprivileged user whose pipes hold more than
// /proc/sys/fs/pipe-user-pages-soft pages, or a lower pipe-max-size), the pipe keeps its size, and
// only the number of calls grows.
func (p *pipeSplicer) open(n int64, pipes *PipeBudget) error {
	if err := unix.Pipe2(p.pipe[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return err
	}
	// The kernel rounds a pipe's size up to a power of two pages.
	size := int64(1) << bits.Len64(uint64(min(n, maxSpliceSize)-1))
	if grow := size - defaultPipeSize(); grow > 0 && pipes.take(grow) {
		_, _, errno := unix.RawSyscall(unix.SYS_FCNTL, uintptr(p.pipe[0]), unix.F_SETPIPE_SZ, uintptr(size))
		if errno != 0 {
			pipes.give(grow)
		} else {
			p.pipes, p.grown = pipes, grow
		}
	}
	return nil
}

// drain moves up to p.max bytes from the socket fd into the empty pipe; it returns false to wait
// until fd is readable.
func (p *pipeSplicer) drain(fd uintptr) bool {
	for {
		n, err := rawSplice(int(fd), p.pipe[1], p.max)
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		p.inPipe, p.errno = max(n, 0), err
		p.progress.add(p.inPipe)
		return true
	}
}

// pump moves all bytes in the pipe to the socket fd; it returns false to wait until fd is writable.
func (p *pipeSplicer) pump(fd uintptr) bool {
	for p.inPipe > 0 {
		n, err := rawSplice(p.pipe[0], int(fd), p.inPipe)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return false
		case err == nil && n == 0:
			err = io.ErrShortWrite
		}
		if err != nil {
			p.errno = err
			return true
		}
		p.inPipe -= n
		p.moved += int64(n)
		p.progress.add(n)
	}
	return true
}

// close closes both ends of the pipe and gives its growth back to the budget.
func (p *pipeSplicer) close() {
	rawClose(p.pipe[0])
	rawClose(p.pipe[1])
	p.pipes.give(p.grown)
	p.grown = 0
}
