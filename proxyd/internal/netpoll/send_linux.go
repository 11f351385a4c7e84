package netpoll

import (
	"net"

	"golang.org/x/sys/unix"
)

// maxIovecs is how many buffers one writev(2) of SendAwait takes; a request in more is written
// the usual way from the first one left out.
const maxIovecs = 4

// iovecs is the argument of SendAwait's writev(2), kept with the Sender: unix.Writev would
// allocate it on every call.
type iovecs [maxIovecs]unix.Iovec

// writeThenWait is the callback of the RawConn.Read that SendAwait runs. Its first call, made after
// the runtime's poller forgot the socket's earlier readiness, writes s.bufs with one writev(2) and
// reports false to wait for readability when the kernel took them all, true to give up otherwise;
// its next call, once the socket is readable, reports true without reading.
func (s *Sender) writeThenWait(fd uintptr) bool {
	if s.sent {
		return true
	}
	n, err := writev(fd, &s.iov, *s.bufs)
	if n > 0 {
		Consume(s.bufs, n)
	}
	switch {
	case err == unix.EAGAIN:
	case err != nil:
		s.writeErr = err
	case len(*s.bufs) == 0:
		s.sent = true
		return false
	}
	return true
}

// Send writes all of bufs, consuming them as net.Buffers.WriteTo does, waiting in the runtime's
// poller whenever the kernel takes no more, until the write deadline: a request's head before a
// body that is streamed after it. Its writev(2) calls are raw (see sys_linux.go). Not alongside
// SendAwait.
func (s *Sender) Send(bufs *net.Buffers) error {
	if s.sendStep == nil {
		s.sendStep = s.writeAll
	}
	s.bufs, s.writeErr = bufs, nil
	err := s.sock.rc.Write(s.sendStep)
	writeErr := s.writeErr
	s.bufs, s.writeErr = nil, nil
	switch {
	case err != nil:
		return err
	case writeErr != nil:
		return s.sock.opError("writev", writeErr)
	}
	return nil
}

// writeAll is the callback of the RawConn.Write that Send runs: it writes s.bufs until the kernel
// has taken them all (true), takes no more (false: wait until the socket is writable) or fails
// (true, with s.writeErr).
func (s *Sender) writeAll(fd uintptr) bool {
	for len(*s.bufs) > 0 {
		n, err := writev(fd, &s.iov, *s.bufs)
		Consume(s.bufs, n) // with n == 0 too, which drops empty buffers
		switch {
		case err == unix.EAGAIN:
			return false
		case err != nil:
			s.writeErr = err
			return true
		}
	}
	return true
}

// writev writes the first maxIovecs of bufs to fd with one writev(2), through iov.
func writev(fd uintptr, iov *iovecs, bufs net.Buffers) (int, error) {
	k := 0
	for _, b := range bufs {
		if k == maxIovecs {
			break
		}
		if len(b) == 0 {
			continue
		}
		iov[k].Base = &b[0]
		iov[k].SetLen(len(b))
		k++
	}
	if k == 0 {
		return 0, nil
	}
	defer clear(iov[:k]) // the Sender outlives the buffers
	return sysWritev(fd, &iov[0], k)
}
