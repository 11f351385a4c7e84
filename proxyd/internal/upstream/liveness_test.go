package upstream

import (
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// backendAct is what a backend does to a connection while it is idle in the pool.
type backendAct func(t *testing.T, sc *net.TCPConn)

// backendCloses closes the backend's end in order.
func backendCloses(_ *testing.T, sc *net.TCPConn) { sc.Close() }

// backendResets closes the backend's end with a TCP reset.
func backendResets(t *testing.T, sc *net.TCPConn) {
	if err := sc.SetLinger(0); err != nil {
		t.Fatalf("SetLinger(0): %v", err)
	}
	sc.Close()
}

// backendSends sends bytes no request asked for.
func backendSends(t *testing.T, sc *net.TCPConn) {
	if _, err := sc.Write([]byte("HTTP/1.1 408 Request Timeout\r\n\r\n")); err != nil {
		t.Fatalf("backend write: %v", err)
	}
}

// reuseResult is what Get did with the idle connection.
type reuseResult struct {
	Reused    bool // Get returned the idle connection
	OldClosed bool // the idle connection was closed
}

// idleInPool puts a connection to a fresh backend into a pool of one, lets the backend do act to
// it (nil: nothing), and makes it look idle for the given time.
func idleInPool(t *testing.T, act backendAct, idle time.Duration) (*backend, *Pool, *Conn) {
	t.Helper()
	b := startBackend(t)
	p := newPool(t, b, 1)
	c, sc := get(t, p, b)
	p.Put(c)
	if act != nil {
		act(t, sc)
		waitPeerEnd(t, c)
	}
	c.idleSince = time.Now().Add(-idle)
	return b, p, c
}

// TestGetLiveness reuses an idle connection only while it is younger than MaxIdleTime and only if
// the backend neither closed it nor sent anything, however briefly it was idle; otherwise Get closes
// it and dials a new one. The idle time is set by moving idleSince back.
func TestGetLiveness(t *testing.T) {
	kept := reuseResult{Reused: true}
	replaced := reuseResult{OldClosed: true}
	tests := []struct {
		name string
		idle time.Duration
		act  backendAct // nil: the backend leaves the connection alone
		want reuseResult
	}{
		{name: "fresh, open", idle: 0, want: kept},
		{name: "fresh, closed by the backend", idle: 0, act: backendCloses, want: replaced},
		{name: "fresh, reset by the backend", idle: 0, act: backendResets, want: replaced},
		{name: "fresh, unsolicited bytes", idle: 0, act: backendSends, want: replaced},
		{name: "idle a while, open", idle: time.Second, want: kept},
		{name: "idle a while, unsolicited bytes", idle: time.Second, act: backendSends, want: replaced},
		{name: "just under MaxIdleTime, open", idle: MaxIdleTime - time.Second, want: kept},
		{name: "MaxIdleTime, open", idle: MaxIdleTime, want: replaced},
		{name: "past MaxIdleTime, open", idle: 2 * MaxIdleTime, want: replaced},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, p, c := idleInPool(t, tt.act, tt.idle)

			again, _ := get(t, p, b)
			got := reuseResult{Reused: again == c, OldClosed: closed(c)}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("Get after %v idle (-want +got):\n%s", tt.idle, diff)
			}
			if !got.Reused && again.Reused {
				t.Error("the connection dialed in place of the idle one is marked Reused")
			}
		})
	}
}

// TestGetSkipsDeadToLive passes over a connection the backend closed while idle and reuses the
// live one below it, without dialing.
func TestGetSkipsDeadToLive(t *testing.T) {
	b := startBackend(t)
	p := newPool(t, b, 2)
	live, _ := get(t, p, b)
	dead, deadEnd := get(t, p, b)
	p.Put(live)
	p.Put(dead)
	deadEnd.Close()
	waitPeerEnd(t, dead)

	c, _ := get(t, p, b)
	got := []reuseResult{
		{Reused: c == live, OldClosed: closed(live)},
		{Reused: c == dead, OldClosed: closed(dead)},
	}
	want := []reuseResult{{Reused: true}, {OldClosed: true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get over a dead then a live idle connection, live first (-want +got):\n%s", diff)
	}
}
