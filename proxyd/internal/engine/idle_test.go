package engine

import (
	"testing"
	"time"
	"unsafe"

	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/netpoll"
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
			var sock netpoll.Socket
			sock.Init(client, rc)
			var l lifetime
			l.init(&sock, nil)
			l.beginWait(true)
			for i := range tc.sweeps {
				l.check(time.Duration(i)*time.Millisecond, &limits)
			}
			open, brief := l.endWait(true)
			if !open || brief != tc.wantBrief {
				t.Errorf("endWait = open %v, brief %v; want open true, brief %v", open, brief, tc.wantBrief)
			}
		})
	}
}

// TestClientConnSize holds what every client connection keeps, idle or not, to the allocator's
// size class of 416 bytes. An idle connection's memory has a target (README.md, Measuring: 2 KiB),
// and this is the largest part of it that is proxyd's own; the next size class is 448 bytes.
func TestClientConnSize(t *testing.T) {
	const sizeClass = 416
	if size := unsafe.Sizeof(clientConn{}); size > sizeClass {
		t.Errorf("a clientConn takes %d bytes, more than the size class of %d bytes", size, sizeClass)
	}
}
