package tunnel

import (
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testIdle is the idle timeout of the tests of the idle timeout.
const testIdle = 300 * time.Millisecond

// TestIdleTimeoutClosesBoth ends Run and closes both connections once no byte has moved either
// way for the idle timeout, and not before.
func TestIdleTimeoutClosesBoth(t *testing.T) {
	tests := []struct {
		name string
		// before moves what moves before the silence, and returns a time no later than the last
		// byte it moved (zero when it moved none).
		before func(t *testing.T, r *rig) time.Time
		want   counts
	}{
		{name: "nothing ever moves", before: func(*testing.T, *rig) time.Time { return time.Time{} }},
		{
			name: "bytes moved, then silence",
			before: func(t *testing.T, r *rig) time.Time {
				send(t, r.client, "hi")
				expect(t, r.backend, "hi")
				last := time.Now()
				send(t, r.backend, "hello")
				expect(t, r.client, "hello")
				return last
			},
			want: counts{AToB: 2, BToA: 5},
		},
		{
			name: "client half-closed, backend silent",
			before: func(t *testing.T, r *rig) time.Time {
				r.client.CloseWrite()
				expectEOF(t, r.backend)
				return time.Time{}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, testIdle)
			silence := time.Now()
			r.run(t, "", "")
			if last := tt.before(t, r); last.After(silence) {
				silence = last
			}

			got := r.wait(t)
			if quiet := r.ended.Sub(silence); quiet < testIdle {
				t.Errorf("Run ended after %v of silence, before the idle timeout %v", quiet, testIdle)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Run counts (-want +got):\n%s", diff)
			}
			r.bothClosed(t)
			expectEOF(t, r.client)
		})
	}
}

// TestTrafficKeepsAlive keeps a tunnel open past its idle timeout from the start while bytes move
// one way only, without pause: the silent direction, which has passed its first idle deadline, is
// still open at the end and relays an answer. The idle timeout is longer here than in the other
// tests, so that a pause of the test process under load does not let the tunnel go idle.
func TestTrafficKeepsAlive(t *testing.T) {
	const (
		idle  = time.Second
		reply = "still here"
	)
	tests := []struct {
		name string
		ends func(r *rig) (talker, listener *net.TCPConn)
		// counts returns Run's counts when the talker sent talked bytes.
		counts func(talked int64) counts
	}{
		{
			name:   "client talks",
			ends:   func(r *rig) (*net.TCPConn, *net.TCPConn) { return r.client, r.backend },
			counts: func(n int64) counts { return counts{AToB: n, BToA: int64(len(reply))} },
		},
		{
			name:   "backend talks",
			ends:   func(r *rig) (*net.TCPConn, *net.TCPConn) { return r.backend, r.client },
			counts: func(n int64) counts { return counts{AToB: int64(len(reply)), BToA: n} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, idle)
			start := time.Now()
			r.run(t, "", "")
			talker, listener := tt.ends(r)

			var talked int64
			for time.Since(start) < idle+idle/2 {
				send(t, talker, ".")
				expect(t, listener, ".")
				talked++
			}
			send(t, listener, reply)
			expect(t, talker, reply)
			if !r.running() {
				t.Fatal("Run returned while bytes kept moving")
			}

			talker.CloseWrite()
			listener.CloseWrite()
			if diff := cmp.Diff(tt.counts(talked), r.wait(t)); diff != "" {
				t.Errorf("Run counts (-want +got):\n%s", diff)
			}
		})
	}
}
