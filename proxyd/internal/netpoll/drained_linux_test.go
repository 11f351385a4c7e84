package netpoll

import (
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"proxyd.dev/proxyd/internal/loopback"
)

// readDrained is one TryReadDrained of c into a buffer of size bytes.
type readDrained struct {
	n                   int
	drained, wouldBlock bool
	err                 error
}

func tryReadDrainedOf(t *testing.T, rc syscall.RawConn, size int) readDrained {
	t.Helper()
	var r readDrained
	buf := make([]byte, size)
	if err := rc.Control(func(fd uintptr) { r.n, r.drained, r.wouldBlock, r.err = TryReadDrained(fd, buf) }); err != nil {
		t.Fatalf("Control: %v", err)
	}
	return r
}

// waitEvents waits in the runtime's poller until poll(2) reports all of want for c.
func waitEvents(t *testing.T, c *net.TCPConn, rc syscall.RawConn, want int16) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitLimit))
	defer c.SetReadDeadline(time.Time{})
	if err := rc.Read(func(fd uintptr) bool { return events(fd)&want == want }); err != nil {
		t.Fatalf("waiting for poll events %#x: %v", want, err)
	}
}

// TestTryReadDrained reports a read as drained when it left nothing to read and no end pending,
// and only on a socket that asked for it (ReportDrained).
func TestTryReadDrained(t *testing.T) {
	type step struct {
		size int
		want readDrained
	}
	for _, tc := range []struct {
		name   string
		report bool
		peer   func(*net.TCPConn)
		until  int16 // what poll(2) reports once the peer's doing has arrived
		reads  []step
	}{
		{"all read", true, func(p *net.TCPConn) { p.Write([]byte("abc")) }, unix.POLLIN,
			[]step{{64, readDrained{n: 3, drained: true}}, {64, readDrained{wouldBlock: true}}}},
		{"more left", true, func(p *net.TCPConn) { p.Write([]byte("abcdef")) }, unix.POLLIN,
			[]step{{4, readDrained{n: 4}}, {4, readDrained{n: 2, drained: true}}}},
		{"end pending", true, func(p *net.TCPConn) { p.Write([]byte("abc")); p.CloseWrite() }, unix.POLLIN | unix.POLLRDHUP,
			[]step{{64, readDrained{n: 3}}, {64, readDrained{}}}},
		{"not asked", false, func(p *net.TCPConn) { p.Write([]byte("abc")) }, unix.POLLIN,
			[]step{{64, readDrained{n: 3}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local, peer := loopback.Pair(t)
			rc := rawConn(t, local)
			if tc.report {
				var ok bool
				rc.Control(func(fd uintptr) { ok = ReportDrained(fd) })
				if !ok {
					t.Fatal("ReportDrained = false on Linux")
				}
			}
			tc.peer(peer)
			waitEvents(t, local, rc, tc.until)
			for i, s := range tc.reads {
				if got := tryReadDrainedOf(t, rc, s.size); got != s.want {
					t.Errorf("read %d of %d bytes = %+v, want %+v", i+1, s.size, got, s.want)
				}
			}
		})
	}
}

// TestTryReadDrainedAllocatesNothing: the read's control data stays on the stack, whether the read
// finds bytes or nothing.
func TestTryReadDrainedAllocatesNothing(t *testing.T) {
	local, peer := loopback.Pair(t)
	rc := rawConn(t, local)
	rc.Control(func(fd uintptr) { ReportDrained(fd) })
	const runs = 50
	peer.Write(make([]byte, runs))
	waitEvents(t, local, rc, unix.POLLIN)
	buf := make([]byte, 1) // a byte a read, then nothing
	read := func(fd uintptr) { TryReadDrained(fd, buf) }
	if allocs := testing.AllocsPerRun(2*runs, func() { rc.Control(read) }); allocs != 0 {
		t.Errorf("TryReadDrained allocates %v times, want 0", allocs)
	}
}
