//go:build !linux

package netpoll

// socketCalls is empty where a Socket's calls are the connection's own.
type socketCalls struct{}

func (*socketCalls) init() {}

// Read is the connection's Read.
func (s *Socket) Read(p []byte) (int, error) { return s.conn.Read(p) }

// Write is the connection's Write.
func (s *Socket) Write(p []byte) (int, error) { return s.conn.Write(p) }
