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
	pooled pooledRead
}

// Buffers lends the buffers ReadPooled reads into; a *bufpool.Pool is one. Put may be given a
// buffer longer than those Get returns, which it drops.
type Buffers interface {
	Get() []byte
	Put(buf []byte)
}

// pooledRead is a ReadPooled under way: where it borrows, the buffer it holds, what its read
// returned, and the callback that reads (made by the connection's first ReadPooled).
type pooledRead struct {
	bufs Buffers
	buf  []byte
	n    int
	err  error
	step func(fd uintptr) bool
}

// WithSocket returns nc as a *Conn when it is a *net.TCPConn, and nc itself otherwise.
func WithSocket(nc net.Conn) net.Conn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nc
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nc
	}
	c := &Conn{TCPConn: tc}
	c.sock.Init(tc, rc)
	return c
}

// Read is the Socket's Read.
func (c *Conn) Read(p []byte) (int, error) { return c.sock.Read(p) }

// Write is the Socket's Write.
func (c *Conn) Write(p []byte) (int, error) { return c.sock.Write(p) }

// ReadPooled reads with one read(2), once the connection has bytes, its end or an error, into a
// buffer borrowed from bufs; while it waits in the runtime's poller it holds none, so that a
// connection waiting for its next bytes costs no buffer. It returns the buffer, with the n bytes
// read at its start, for the caller to give back to bufs; at the end (io.EOF), on an error, or
// when the read deadline passes it returns none. One ReadPooled at a time, not alongside Read.
func (c *Conn) ReadPooled(bufs Buffers) (buf []byte, n int, err error) {
	k := &c.pooled
	if k.step == nil {
		k.step = func(fd uintptr) bool {
			if k.buf == nil {
				k.buf = k.bufs.Get()
			}
			n, wouldBlock, err := tryRead(fd, k.buf)
			if wouldBlock {
				k.bufs.Put(k.buf)
				k.buf = nil
				return false
			}
			k.n, k.err = n, err
			return true
		}
	}
	k.bufs = bufs
	waitErr := c.sock.rc.Read(k.step)
	buf, n, err = k.buf, k.n, k.err
	*k = pooledRead{step: k.step}
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
		return nil, 0, c.sock.opError("read", err)
	}
	return nil, 0, io.EOF
}
