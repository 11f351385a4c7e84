package h2

import "net"

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
