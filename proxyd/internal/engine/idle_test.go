package engine

import (
	"testing"
	"time"

	"proxyd.dev/proxyd/internal/loopback"
)

// TestEndWaitBrief reports a wait between requests as brief only when it ended before the sweeper
// saw it: such a connection is busy and keeps waiting on its goroutine.
func TestEndWaitBrief(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sweeps    int // sweeper ticks during the wait
		wantBrief bool
	}{
		{"over before a tick", 0, true},
		{"seen by a tick", 1, false},
		{"seen by two ticks", 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, _ := loopback.Pair(t)
			limits := timeouts{header: testTimeout, idle: testTimeout, responseHeader: testTimeout, tunnelIdle: testTimeout}
			rc, err := client.SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			var l lifetime
			l.init(&limits, client, rc, nil)
			l.beginWait(true)
			for i := range tc.sweeps {
				l.check(time.Duration(i) * time.Millisecond)
			}
			open, brief := l.endWait(true)
			if !open || brief != tc.wantBrief {
				t.Errorf("endWait = open %v, brief %v; want open true, brief %v", open, brief, tc.wantBrief)
			}
		})
	}
}
