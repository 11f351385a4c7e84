package upstream

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSweepClosesExpiredAndDead closes, with no Get asking, the idle connections that expired and
// those the backend closed, reset or sent bytes on, and keeps the live ones.
func TestSweepClosesExpiredAndDead(t *testing.T) {
	tests := []struct {
		name string
		idle time.Duration
		act  backendAct
		want bool // closed by the sweep
	}{
		{name: "live", idle: time.Second},
		{name: "expired", idle: MaxIdleTime, want: true},
		{name: "closed by the backend", act: backendCloses, want: true},
		{name: "reset by the backend", act: backendResets, want: true},
		{name: "unsolicited bytes", act: backendSends, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, p, c := idleInPool(t, tt.act, tt.idle)
			p.Sweep(time.Now())
			if got := closed(c); got != tt.want {
				t.Errorf("closed after Sweep = %v, want %v", got, tt.want)
			}
			if got, want := p.Idle(), map[bool]int{false: 1, true: 0}[tt.want]; got != want {
				t.Errorf("Idle() after Sweep = %d, want %d", got, want)
			}
		})
	}
}

// TestSweepPurgesAfterBurst halves, every PurgeEvery, the idle connections that no Get needed
// during the period, least recently used first.
func TestSweepPurgesAfterBurst(t *testing.T) {
	const burst = 8
	b := startBackend(t)
	p := newPool(t, b, burst)
	conns := make([]*Conn, burst)
	for i := range conns {
		conns[i], _ = get(t, p, b)
	}
	for _, c := range conns {
		p.Put(c)
	}
	start := time.Now()
	p.Sweep(start) // the first period starts: all 8 idle

	// Steady use: two connections taken and given back each period.
	for range 2 {
		c1, _ := get(t, p, b)
		c2, _ := get(t, p, b)
		p.Put(c2)
		p.Put(c1)
	}
	var idle []int
	for k := 1; k <= 4; k++ {
		p.Sweep(start.Add(time.Duration(k) * PurgeEvery))
		idle = append(idle, p.Idle())
	}
	// Period 1 used 2 of 8: half of the 6 unused go (8→5); later periods use none: 5→3→2→1.
	want := []int{5, 3, 2, 1}
	if diff := cmp.Diff(want, idle); diff != "" {
		t.Errorf("idle connections after each purge (-want +got):\n%s", diff)
	}
	for i, c := range conns[:3] {
		if !closed(c) {
			t.Errorf("connection %d (least recently used) still open after the first purge", i)
		}
	}
}
