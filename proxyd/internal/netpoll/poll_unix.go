//go:build unix

package netpoll

import "golang.org/x/sys/unix"

// events returns what poll(2) reports for fd at once, asked for askEvents without waiting; a
// failing call reports POLLERR.
func events(fd uintptr) int16 {
	fds := [1]unix.PollFd{{Fd: int32(fd)}}
	PollQuiet(fds[:])
	return int16(fds[0].Revents) // uint16 on AIX
}

// PollQuiet asks poll(2) about every descriptor of fds at once, without waiting, what Quiet asks
// about one (askEvents): a descriptor whose Revents is 0 afterwards is quiet. A failing call sets
// POLLERR in every Revents. One raw system call, whatever the number of descriptors.
func PollQuiet(fds []unix.PollFd) {
	for i := range fds {
		fds[i].Events, fds[i].Revents = askEvents, 0
	}
	if sysPoll(fds) != nil {
		for i := range fds {
			fds[i].Revents = unix.POLLERR
		}
	}
}

// quiet reports whether poll(2) reports nothing at all for fd.
func quiet(fd uintptr) bool { return events(fd) == 0 }

// peerGone reports whether fd has an error pending, or an end (endEvents) with nothing before it.
func peerGone(fd uintptr) bool {
	ev := events(fd)
	return ev&unix.POLLERR != 0 || ev&endEvents != 0 && atEnd(fd)
}

// tryRead reads from fd, a non-blocking socket, with read(2); EAGAIN means nothing is there yet.
func tryRead(fd uintptr, buf []byte) (n int, wouldBlock bool, err error) {
	return readOutcome(sysRead(fd, buf))
}

// readOutcome is what a read of a non-blocking socket that returned n and err comes to: EAGAIN
// means nothing is there yet.
func readOutcome(n int, err error) (int, bool, error) {
	switch err {
	case nil:
		return n, false, nil
	case unix.EAGAIN:
		return 0, true, nil
	}
	return 0, false, err
}
