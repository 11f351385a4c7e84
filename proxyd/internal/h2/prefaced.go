package h2

import (
	"errors"
	"net"
	"syscall"
)

// prefacedConn is a client connection whose first bytes were read by the engine before it knew the
// connection speaks HTTP/2: its reads return those bytes first, then read the connection. Only the
// connection's reader reads it, one read at a time.
type prefacedConn struct {
	net.Conn
	// buffered is what the engine read and the HTTP/2 server has not yet; owned by the reader.
	buffered []byte
}

// Read returns buffered bytes while there are any, then reads the connection.
func (c *prefacedConn) Read(p []byte) (int, error) {
	if len(c.buffered) > 0 {
		n := copy(p, c.buffered)
		c.buffered = c.buffered[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// SyscallConn returns the connection's own, for the writes that must not wait (see
// h2conn.Conn.FlushNoWait); it fails when the connection has none.
func (c *prefacedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}
