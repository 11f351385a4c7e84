package netpoll

import (
	"io"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// socketCalls is what a Socket's Read and Write keep between their call and the runtime's poller:
// the callbacks, made once so that a call allocates nothing, and the current call's buffer, count
// and error, apart for the reader and the writer.
type socketCalls struct {
	readStep, writeStep func(fd uintptr) bool
	rp, wp              []byte
	rn, wn              int
	rerr, werr          error
}

func (k *socketCalls) init(s *Socket) {
	k.readStep = func(fd uintptr) bool {
		var wouldBlock bool
		k.rn, wouldBlock, k.rerr = tryRead(fd, k.rp)
		return !wouldBlock
	}
	k.writeStep = func(fd uintptr) bool {
		for k.wn < len(k.wp) {
			n, err := sysWrite(fd, k.wp[k.wn:])
			switch {
			case err == unix.EAGAIN:
				return false // wait until the socket takes more
			case err != nil:
				k.werr = err
				return true
			}
			k.wn += n
		}
		return true
	}
}

// Read reads into p with one read(2) once the connection has bytes, its end or an error, waiting
// in the runtime's poller until then, or until the read deadline. It returns io.EOF at the end.
func (s *Socket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	k := &s.calls
	k.rp, k.rn, k.rerr = p, 0, nil
	err := s.rc.Read(k.readStep)
	n, rerr := k.rn, k.rerr
	k.rp, k.rerr = nil, nil
	switch {
	case err != nil:
		return 0, err
	case rerr != nil:
		return 0, s.opError("read", rerr)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p with write(2), waiting in the runtime's poller while the connection's
// send buffer is full, until the write deadline. It returns how much it wrote, and why it stopped
// short.
func (s *Socket) Write(p []byte) (int, error) {
	k := &s.calls
	k.wp, k.wn, k.werr = p, 0, nil
	err := s.rc.Write(k.writeStep)
	n, werr := k.wn, k.werr
	k.wp, k.werr = nil, nil
	switch {
	case err != nil:
		return n, err
	case werr != nil:
		return n, s.opError("write", werr)
	}
	return n, nil
}

// opError describes the failure err of the system call op as the connection's own Read and Write
// do.
func (s *Socket) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: s.conn.LocalAddr(), Addr: s.conn.RemoteAddr(),
		Err: os.NewSyscallError(op, err)}
}
