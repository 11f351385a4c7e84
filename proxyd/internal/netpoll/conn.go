package netpoll

import "net"

// Conn is a TCP connection whose Read and Write are its Socket's: for a connection all of whose
// reads and writes are small and frequent, such as an HTTP/2 connection's frames. Its other
// methods are the connection's own.
type Conn struct {
	*net.TCPConn
	sock Socket
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
