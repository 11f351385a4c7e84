package netpoll

import (
	"io"
	"net"
)

// Conn is a TCP connection whose Read and Write are its Socket's: for a connection all of whose
// reads and writes are small and frequent, such as an HTTP/2 connection's frames. Its other
// methods are the connection's own.
type Conn struct {
	*net.TCPConn
	sock   Socket
	pooled PooledReader
}

// Buffers lends the buffers ReadPooled reads into; a *bufpool.Pool is one. Put may be given a
// buffer longer than those Get returns, which it drops.
type Buffers interface {
	Get() []byte
	Put(buf []byte)
}

// WithSocket returns nc as a *Conn when it is a *net.TCPConn, and nc itself otherwise.
func WithSocket(nc net.Conn) net.Conn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc
	}
	c := &Conn{TCPConn: tc}
	if c.sock.Init(tc) != nil {
		return nc
	}
	return c
}

// Read is the Socket's Read.
func (c *Conn) Read(p []byte) (int, error) { return c.sock.Read(p) }

// Write is the Socket's Write.
func (c *Conn) Write(p []byte) (int, error) { return c.sock.Write(p) }

// ReadPooled reads the connection as PooledReader.Read does. One ReadPooled at a time, not
// alongside Read.
func (c *Conn) ReadPooled(bufs Buffers) (buf []byte, n int, err error) {
	return c.pooled.Read(&c.sock, bufs)
}

// PooledReader reads a socket into buffers it borrows only once the socket has something to read:
// a connection waiting for its next bytes holds no buffer. The zero value is ready to use; it
// reads one socket at a time, and allocates once, at its first Read.
type PooledReader struct {
	bufs Buffers
	buf  []byte
	n    int
	err  error
	step func(fd uintptr) bool // the callback that reads, made by the first Read
}

// Read reads s with one read(2), once the connection has bytes, its end or an error, into a
// buffer borrowed from bufs; while it waits in the runtime's poller it holds none. It returns the
// buffer, with the n bytes read at its start, for the caller to give back to bufs; at the end
// (io.EOF), on an error, or when the read deadline passes it returns none. It is s's reader: not
// to be called alongside s.Read.
func (r *PooledReader) Read(s *Socket, bufs Buffers) (buf []byte, n int, err error) {
	if r.step == nil {
		r.step = func(fd uintptr) bool {
			if r.buf == nil {
				r.buf = r.bufs.Get()
			}
			n, wouldBlock, err := tryRead(fd, r.buf)
			if wouldBlock {
				r.bufs.Put(r.buf)
				r.buf = nil
				return false
			}
			r.n, r.err = n, err
			return true
		}
	}
	r.bufs = bufs
	waitErr := s.rc.Read(r.step)
	buf, n, err = r.buf, r.n, r.err
	*r = PooledReader{step: r.step}
	if waitErr == nil && err == nil && n > 0 {
		return buf, n, nil
	}
	if buf != nil {
		bufs.Put(buf)
	}
	switch {
	case waitErr != nil:
		return nil, 0, waitErr
	case err != nil:
		return nil, 0, s.opError("read", err)
	}
	return nil, 0, io.EOF
}
