package tunnel

import (
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHalfClosePassedOn passes one side's end of sending on as a half-close: the other side sees
// the end, still sends, and the first side still receives, until the other side ends too.
func TestHalfClosePassedOn(t *testing.T) {
	const last, reply = "bye", "still talking"
	tests := []struct {
		name   string
		first  func(r *rig) (closer, other *net.TCPConn)
		counts counts
	}{
		{
			name:   "client first",
			first:  func(r *rig) (*net.TCPConn, *net.TCPConn) { return r.client, r.backend },
			counts: counts{AToB: int64(len(last)), BToA: int64(len(reply))},
		},
		{
			name:   "backend first",
			first:  func(r *rig) (*net.TCPConn, *net.TCPConn) { return r.backend, r.client },
			counts: counts{AToB: int64(len(reply)), BToA: int64(len(last))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.run(t, "", "")
			closer, other := tt.first(r)

			send(t, closer, last)
			if err := closer.CloseWrite(); err != nil {
				t.Fatalf("CloseWrite: %v", err)
			}
			expect(t, other, last)
			expectEOF(t, other)

			send(t, other, reply)
			expect(t, closer, reply)
			if !r.running() {
				t.Fatal("Run returned while one direction was still open")
			}

			if err := other.CloseWrite(); err != nil {
				t.Fatalf("CloseWrite: %v", err)
			}
			expectEOF(t, closer)
			if diff := cmp.Diff(tt.counts, r.wait(t)); diff != "" {
				t.Errorf("Run counts (-want +got):\n%s", diff)
			}
			r.bothClosed(t)
		})
	}
}
