package netpoll

import (
	"net"
	"os"
	"syscall"
)

// Socket reads and writes one TCP connection as the connection's own Read and Write do, with
// the same deadlines and errors, but on Linux its system calls are the package's (see
// sys_linux.go): they skip the scheduler's bookkeeping, and so leave the runtime's monitor thread
// asleep. Use it for a connection's frequent small reads and writes; each call moves one buffer.
// The zero value is not usable: Init sets a Socket up. Like the connection, it takes one reader
// and one writer at a time, which may run concurrently.
type Socket struct {
	conn  *net.TCPConn
	rc    syscall.RawConn
	calls socketCalls
}

// Init sets s up for conn. It fails only as conn.SyscallConn does, for a connection that is not
// set up.
func (s *Socket) Init(conn *net.TCPConn) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	s.conn, s.rc = conn, rc
	s.calls.init()
	return nil
}

// TCPConn returns the connection: a wire.Reader over s splices from it (wire.TCPSource) and the
// relays splice to it (wire.TCPSink), as s reads and writes nothing but the connection's bytes.
func (s *Socket) TCPConn() *net.TCPConn { return s.conn }

// RawConn returns the connection's RawConn, which Init was given.
func (s *Socket) RawConn() syscall.RawConn { return s.rc }

// opError describes the failure err of the system call op as the connection's own Read and Write
// do.
func (s *Socket) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: s.conn.LocalAddr(), Addr: s.conn.RemoteAddr(),
		Err: os.NewSyscallError(op, err)}
}

// Fd returns the descriptor of the socket whose RawConn is rc, -1 when it is closed.
func Fd(rc syscall.RawConn) int {
	fd := -1
	rc.Control(func(s uintptr) { fd = int(s) })
	return fd
}
