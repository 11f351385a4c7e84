package tunnel

import (
	"testing"
	"time"
)

// TestIdleForCountsFromLastByte reports the time since the last byte moved either way: it grows
// while the tunnel is silent and starts again from a byte in either direction.
func TestIdleForCountsFromLastByte(t *testing.T) {
	r := newRig(t)
	r.run(t, "", "")
	first := r.tun.IdleFor()
	if again := r.tun.IdleFor(); again < first {
		t.Errorf("IdleFor went back from %v to %v with no byte moving", first, again)
	}
	before := time.Now()
	send(t, r.client, "up")
	expect(t, r.backend, "up")
	if idle := r.tun.IdleFor(); idle > time.Since(before) {
		t.Errorf("IdleFor = %v after a byte moved up %v ago at most", idle, time.Since(before))
	}
	before = time.Now()
	send(t, r.backend, "down")
	expect(t, r.client, "down")
	if idle := r.tun.IdleFor(); idle > time.Since(before) {
		t.Errorf("IdleFor = %v after a byte moved down %v ago at most", idle, time.Since(before))
	}
	if !r.running() {
		t.Fatal("Run returned on its own")
	}
}
