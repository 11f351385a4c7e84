package tunnel

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCloseEndsRun ends a running tunnel at once, closing both connections, and Run reports what
// had moved; a second Close does nothing.
func TestCloseEndsRun(t *testing.T) {
	r := newRig(t)
	r.run(t, "", "")
	send(t, r.client, "up")
	expect(t, r.backend, "up")
	send(t, r.backend, "down!")
	expect(t, r.client, "down!")

	r.tun.Close()
	if diff := cmp.Diff(counts{AToB: 2, BToA: 5}, r.wait(t)); diff != "" {
		t.Errorf("Run counts (-want +got):\n%s", diff)
	}
	r.bothClosed(t)
	expectEOF(t, r.client)
	expectEOF(t, r.backend)
	r.tun.Close()
}

// TestCloseBeforeRun makes a later Run return at once without relaying anything.
func TestCloseBeforeRun(t *testing.T) {
	r := newRig(t)
	r.tun.Close()
	r.run(t, "", "")
	if diff := cmp.Diff(counts{}, r.wait(t)); diff != "" {
		t.Errorf("Run counts (-want +got):\n%s", diff)
	}
	r.bothClosed(t)
}

// TestWriteErrorEndsRun closes both connections when bytes cannot be written to a side that is
// gone: the backend closed with a reset and the client still sends.
func TestWriteErrorEndsRun(t *testing.T) {
	r := newRig(t)
	r.run(t, "", "")
	if err := r.backend.SetLinger(0); err != nil {
		t.Fatalf("SetLinger(0): %v", err)
	}
	r.backend.Close()
	expectEOF(t, r.client)
	send(t, r.client, "anyone there?")
	r.wait(t)
	r.bothClosed(t)
}

// TestResetEndsRun closes both connections when one side resets while the other stays silent: a
// reset is an error, not a half-close, so Run does not wait for the idle timeout.
func TestResetEndsRun(t *testing.T) {
	r := newRig(t)
	r.run(t, "", "")
	if err := r.backend.SetLinger(0); err != nil {
		t.Fatalf("SetLinger(0): %v", err)
	}
	r.backend.Close()
	r.wait(t)
	r.bothClosed(t)
}
