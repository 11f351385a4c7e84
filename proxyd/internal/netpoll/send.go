package netpoll

import "net"

// Sender writes requests to one connection and waits for their answers without the read that
// finds nothing. A reader in Go's net package reads first and waits for the socket only when the
// read would block: for a request just written, whose answer cannot be there yet, that read is a
// system call spent for nothing. SendAwait instead writes the request from within the wait: the
// runtime's poller forgets the socket's earlier readiness before the write, so the answer's arrival
// after it is a readiness the wait sees (Linux only; elsewhere SendAwait writes nothing and the
// caller writes and reads as usual).
//
// Only a caller that knows nothing is waiting unread on the connection (a backend connection found
// quiet, or a new one) may use it, and only for a request that the kernel takes whole: the answer
// to a request still being written may come before the write ends. A Sender is not safe for
// concurrent use, and no other goroutine may read the connection meanwhile.
type Sender struct {
	sock     *Socket               // the connection's socket: its RawConn, and how its errors read
	step     func(fd uintptr) bool // s.writeThenWait, made once so that SendAwait allocates nothing
	sendStep func(fd uintptr) bool // s.writeAll on Linux, made by the first Send

	bufs     *net.Buffers // what the current SendAwait or Send writes
	sent     bool         // the kernel took all of bufs: what remains is the wait
	writeErr error        // why the write failed
	iov      iovecs       // the writev(2) argument
}

// NewSender returns a Sender for the connection of sock, set up (Socket.Init).
func NewSender(sock *Socket) *Sender {
	s := &Sender{sock: sock}
	s.step = s.writeThenWait
	return s
}

// SendAwait writes bufs, consuming them as net.Buffers.WriteTo does, and, once the kernel has
// taken all of them at once, waits until the connection is readable: the answer has begun to
// arrive, or its end or an error. It then reports true; the next read takes the answer, or
// reports why the wait ended early (the read deadline, a close), as it would have without the
// wait.
//
// It reports false when it could not write all of bufs at once: what is left of bufs is for the
// caller to write, and to read the answer, the usual way. err is a write's failure.
func (s *Sender) SendAwait(bufs *net.Buffers) (sent bool, err error) {
	s.bufs, s.sent, s.writeErr = bufs, false, nil
	s.sock.rc.Read(s.step) // a wait that ends early is the next read's to report
	s.bufs = nil
	return s.sent, s.writeErr
}

// Consume removes the first n bytes from *bufs, as a write that took them would: for a caller
// whose writes are made elsewhere (a ring's sendmsg) and may take part of them.
func Consume(bufs *net.Buffers, n int) {
	b := *bufs
	for len(b) > 0 && n >= len(b[0]) {
		n -= len(b[0])
		b = b[1:]
	}
	if len(b) > 0 {
		b[0] = b[0][n:]
	}
	*bufs = b
}
