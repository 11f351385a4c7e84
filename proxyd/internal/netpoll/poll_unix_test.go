//go:build unix

package netpoll

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"

	"proxyd.dev/proxyd/internal/loopback"
)

// TestPollQuiet asks about connections in each state at once, in one call, and checks that each
// entry answers what Quiet answers about its connection alone.
func TestPollQuiet(t *testing.T) {
	acts := []struct {
		name      string
		peerDoes  peerAct // nil: the peer stays silent
		wantQuiet bool
	}{
		{name: "idle, peer silent", wantQuiet: true},
		{name: "peer sent bytes", peerDoes: sends("unsolicited")},
		{name: "peer closed", peerDoes: closes},
		{name: "another idle one", wantQuiet: true},
		{name: "peer half-closed", peerDoes: halfCloses},
		{name: "peer reset", peerDoes: resets},
	}
	fds := make([]unix.PollFd, len(acts))
	locals := make([]*net.TCPConn, len(acts))
	for i, a := range acts {
		local, peer := loopback.Pair(t)
		if a.peerDoes != nil {
			a.peerDoes(t, peer)
			waitReadable(t, local)
		}
		rc, err := local.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		locals[i], fds[i].Fd = local, int32(Fd(rc))
	}
	PollQuiet(fds)
	for i, a := range acts {
		if got := fds[i].Revents == 0; got != a.wantQuiet {
			t.Errorf("%s: quiet = %v (revents %#x), want %v", a.name, got, fds[i].Revents, a.wantQuiet)
		}
		if alone := quietOf(locals[i]); alone != a.wantQuiet {
			t.Errorf("%s: Quiet alone = %v, want %v", a.name, alone, a.wantQuiet)
		}
	}
}
