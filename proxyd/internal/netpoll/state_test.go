package netpoll

import (
	"net"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPeerGoneAndQuiet checks both reports on each state an idle connection can be in: only a
// connection whose peer neither sent nor ended anything is quiet; only one whose next read would
// end (peer closed or reset, connection closed locally, no descriptor) has its peer gone.
func TestPeerGoneAndQuiet(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, local, peer *net.TCPConn) syscall.Conn
		wantGone  bool
		wantQuiet bool
	}{
		{
			name:      "idle, peer silent",
			setup:     func(t *testing.T, local, _ *net.TCPConn) syscall.Conn { return local },
			wantQuiet: true,
		},
		{
			name: "peer sent bytes",
			setup: func(t *testing.T, local, peer *net.TCPConn) syscall.Conn {
				if _, err := peer.Write([]byte("unsolicited")); err != nil {
					t.Fatalf("peer write: %v", err)
				}
				waitReadable(t, local)
				return local
			},
		},
		{
			name: "peer sent bytes then closed",
			setup: func(t *testing.T, local, peer *net.TCPConn) syscall.Conn {
				if _, err := peer.Write([]byte("last words")); err != nil {
					t.Fatalf("peer write: %v", err)
				}
				peer.Close()
				waitReadable(t, local)
				return local
			},
		},
		{
			name: "peer closed",
			setup: func(t *testing.T, local, peer *net.TCPConn) syscall.Conn {
				peer.Close()
				waitReadable(t, local)
				return local
			},
			wantGone: true,
		},
		{
			name: "peer half-closed",
			setup: func(t *testing.T, local, peer *net.TCPConn) syscall.Conn {
				peer.CloseWrite()
				waitReadable(t, local)
				return local
			},
			wantGone: true,
		},
		{
			name: "peer reset",
			setup: func(t *testing.T, local, peer *net.TCPConn) syscall.Conn {
				reset(t, peer)
				waitReadable(t, local)
				return local
			},
			wantGone: true,
		},
		{
			name: "closed locally",
			setup: func(t *testing.T, local, _ *net.TCPConn) syscall.Conn {
				local.Close()
				return local
			},
			wantGone: true,
		},
		{
			name:     "no descriptor",
			setup:    func(*testing.T, *net.TCPConn, *net.TCPConn) syscall.Conn { return noRawConn{} },
			wantGone: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local, peer := tcpPair(t)
			c := tt.setup(t, local, peer)
			// Both are asked twice: asking takes nothing from the socket.
			for range 2 {
				if got := PeerGone(c); got != tt.wantGone {
					t.Errorf("PeerGone = %v, want %v", got, tt.wantGone)
				}
				if got := Quiet(c); got != tt.wantQuiet {
					t.Errorf("Quiet = %v, want %v", got, tt.wantQuiet)
				}
			}
		})
	}
}

// TestPeekLeavesBytes reads, after PeerGone and Quiet looked at a connection, every byte the peer
// sent.
func TestPeekLeavesBytes(t *testing.T) {
	const payload = "abc"
	local, peer := tcpPair(t)
	if _, err := peer.Write([]byte(payload)); err != nil {
		t.Fatalf("peer write: %v", err)
	}
	waitReadable(t, local)
	PeerGone(local)
	Quiet(local)

	buf := make([]byte, len(payload)+1)
	n, err := local.Read(buf)
	if err != nil {
		t.Fatalf("Read after PeerGone and Quiet: %v", err)
	}
	if diff := cmp.Diff(payload, string(buf[:n])); diff != "" {
		t.Errorf("Read after PeerGone and Quiet (-want +got):\n%s", diff)
	}
}
