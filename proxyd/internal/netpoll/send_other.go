//go:build !linux

package netpoll

import "net"

// iovecs is unused where SendAwait gives up at once.
type iovecs struct{}

// writeThenWait gives up at once, writing nothing: the wait that spares a read relies on how the
// runtime's poller and epoll(7) report readiness on Linux.
func (s *Sender) writeThenWait(uintptr) bool { return true }

// Send writes all of bufs, consuming them, as net.Buffers.WriteTo does on the connection.
func (s *Sender) Send(bufs *net.Buffers) error {
	_, err := bufs.WriteTo(s.sock.conn)
	return err
}
