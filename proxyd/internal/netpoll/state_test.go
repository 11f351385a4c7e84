package netpoll

import (
	"net"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/loopback"
)

// TestPeerGoneAndQuiet checks both reports on each state an idle connection can be in: only a
// connection whose peer neither sent nor ended anything is quiet; only one whose next read would
// end (peer closed or reset, connection closed locally, no descriptor) has its peer gone.
func TestPeerGoneAndQuiet(t *testing.T) {
	tests := []struct {
		name string
		// peerDoes, when set, acts on the peer; the test waits until the act has arrived.
		peerDoes peerAct
		// conn, when set, turns the local end into the connection asked about.
		conn      func(local *net.TCPConn) syscall.Conn
		wantGone  bool
		wantQuiet bool
	}{
		{name: "idle, peer silent", wantQuiet: true},
		{name: "peer sent bytes", peerDoes: sends("unsolicited")},
		{name: "peer sent bytes then closed", peerDoes: then(sends("last words"), closes)},
		{name: "peer closed", peerDoes: closes, wantGone: true},
		{name: "peer half-closed", peerDoes: halfCloses, wantGone: true},
		{name: "peer reset", peerDoes: resets, wantGone: true},
		{
			name:     "closed locally",
			conn:     func(local *net.TCPConn) syscall.Conn { local.Close(); return local },
			wantGone: true,
		},
		{
			name:     "no descriptor",
			conn:     func(*net.TCPConn) syscall.Conn { return noRawConn{} },
			wantGone: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local, peer := loopback.Pair(t)
			if tt.peerDoes != nil {
				tt.peerDoes(t, peer)
				waitReadable(t, local)
			}
			var c syscall.Conn = local
			if tt.conn != nil {
				c = tt.conn(local)
			}
			// Both are asked twice: asking takes nothing from the socket.
			for range 2 {
				if got := peerGoneOf(c); got != tt.wantGone {
					t.Errorf("PeerGone = %v, want %v", got, tt.wantGone)
				}
				if got := quietOf(c); got != tt.wantQuiet {
					t.Errorf("Quiet = %v, want %v", got, tt.wantQuiet)
				}
			}
		})
	}
}

// peerGoneOf asks a new Checker of c whether the peer is gone; a connection without a descriptor
// counts as gone, as the engine takes it.
func peerGoneOf(c syscall.Conn) bool {
	rc, err := c.SyscallConn()
	return err != nil || NewChecker(rc).PeerGone()
}

// quietOf asks a new Checker of c whether it is quiet.
func quietOf(c syscall.Conn) bool {
	rc, err := c.SyscallConn()
	return err == nil && NewChecker(rc).Quiet()
}

// TestPeekLeavesBytes reads, after PeerGone and Quiet looked at a connection, every byte the peer
// sent.
func TestPeekLeavesBytes(t *testing.T) {
	const payload = "abc"
	local, peer := loopback.Pair(t)
	sends(payload)(t, peer)
	waitReadable(t, local)
	peerGoneOf(local)
	quietOf(local)

	buf := make([]byte, len(payload)+1)
	n, err := local.Read(buf)
	if err != nil {
		t.Fatalf("Read after PeerGone and Quiet: %v", err)
	}
	if diff := cmp.Diff(payload, string(buf[:n])); diff != "" {
		t.Errorf("Read after PeerGone and Quiet (-want +got):\n%s", diff)
	}
}
