package netpoll

import (
	"io"

	"golang.org/x/sys/unix"
)

// socketCalls is what a Socket's Read and Write keep between their call and the runtime's poller:
// the callbacks, made once so that a call allocates nothing, and each side's current call. It is
// kept small: every client connection holds one, idle or not.
type socketCalls struct {
	readStep, writeStep func(fd uintptr) bool
	r, w                socketCall
}

// socketCall is one Read or Write under way: its buffer, the bytes moved, and the errno of the
// system call that failed (0: none).
type socketCall struct {
	p     []byte // at most maxCall bytes
	n     int32
	errno uint32 // a unix.Errno
}

// maxCall bounds the buffer of one socketCall, for its count; a longer Write takes several.
const maxCall = 1 << 30

func (k *socketCalls) init() {
	k.readStep = func(fd uintptr) bool {
		n, wouldBlock, err := tryRead(fd, k.r.p)
		k.r.n, k.r.errno = int32(n), errnoOf(err)
		return !wouldBlock
	}
	k.writeStep = func(fd uintptr) bool {
		for int(k.w.n) < len(k.w.p) {
			n, err := sysWrite(fd, k.w.p[k.w.n:])
			switch {
			case err == unix.EAGAIN:
				return false // wait until the socket takes more
			case err != nil:
				k.w.errno = errnoOf(err)
				return true
			}
			k.w.n += int32(n)
		}
		return true
	}
}

// errnoOf returns the errno err is (the package's system calls fail with nothing else), or 0 for
// nil.
func errnoOf(err error) uint32 {
	if err == nil {
		return 0
	}
	return uint32(err.(unix.Errno))
}

// Read reads into p with one read(2) once the connection has bytes, its end or an error, waiting
// in the runtime's poller until then, or until the read deadline. It returns io.EOF at the end.
func (s *Socket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	p = p[:min(len(p), maxCall)]
	k := &s.calls.r
	*k = socketCall{p: p}
	err := s.rc.Read(s.calls.readStep)
	c := *k
	*k = socketCall{}
	switch {
	case err != nil:
		return 0, err
	case c.errno != 0:
		return 0, s.opError("read", unix.Errno(c.errno))
	case c.n == 0:
		return 0, io.EOF
	}
	return int(c.n), nil
}

// Write writes all of p with write(2), waiting in the runtime's poller while the connection's
// send buffer is full, until the write deadline. It returns how much it wrote, and why it stopped
// short.
func (s *Socket) Write(p []byte) (int, error) {
	written := 0
	for {
		n, err := s.write(p[written:min(len(p), written+maxCall)])
		written += n
		if err != nil || written == len(p) {
			return written, err
		}
	}
}

// write writes all of p, at most maxCall bytes, as Write does.
func (s *Socket) write(p []byte) (int, error) {
	k := &s.calls.w
	*k = socketCall{p: p}
	err := s.rc.Write(s.calls.writeStep)
	c := *k
	*k = socketCall{}
	switch {
	case err != nil:
		return int(c.n), err
	case c.errno != 0:
		return int(c.n), s.opError("write", unix.Errno(c.errno))
	}
	return int(c.n), nil
}
