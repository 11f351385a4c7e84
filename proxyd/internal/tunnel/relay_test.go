package tunnel

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/bufpool"
)

// relayed is what went through a tunnel: the bytes each far end received and Run's counts.
type relayed struct {
	ToBackend, ToClient string
	Counts              counts
}

// TestRelayBothWays delivers the pending bytes first, then everything each side sends, in order,
// ends Run when both sides have finished sending, and counts the bytes each way.
func TestRelayBothWays(t *testing.T) {
	large := strings.Repeat("0123456789abcdef", 5*bufpool.Size/16+7) // several buffers' worth
	tests := []struct {
		name               string
		pendingA, pendingB string
		fromA, fromB       string
	}{
		{name: "nothing at all"},
		{name: "no pending bytes", fromA: "ping", fromB: "pong"},
		{name: "pending bytes only", pendingA: "GET /ws HTTP/1.1", pendingB: "early frame"},
		{name: "pending then sent", pendingA: "head-a|", pendingB: "head-b|", fromA: "body-a", fromB: "body-b"},
		{name: "one way only", fromA: "request only"},
		{name: "larger than a buffer", pendingA: "p|", fromA: large, fromB: large[:bufpool.Size+1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.run(t, tt.pendingA, tt.pendingB)
			toBackend := drain(r.backend)
			toClient := drain(r.client)
			sendAll(t, r.client, tt.fromA)
			sendAll(t, r.backend, tt.fromB)

			got := relayed{ToBackend: toBackend.get(t), ToClient: toClient.get(t), Counts: r.wait(t)}
			want := relayed{
				ToBackend: tt.pendingA + tt.fromA,
				ToClient:  tt.pendingB + tt.fromB,
				Counts:    counts{AToB: int64(len(tt.pendingA + tt.fromA)), BToA: int64(len(tt.pendingB + tt.fromB))},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("relayed (-want +got):\n%s", diff)
			}
			r.bothClosed(t)
		})
	}
}

// sendAll writes data on c in its own goroutine, then half-closes c; the test waits for it
// before it ends.
func sendAll(t *testing.T, c *net.TCPConn, data string) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		c.SetWriteDeadline(time.Now().Add(waitLimit))
		_, err := c.Write([]byte(data))
		if err == nil {
			err = c.CloseWrite()
		}
		errc <- err
	}()
	t.Cleanup(func() {
		if err := <-errc; err != nil {
			t.Errorf("sending %d bytes from %s: %v", len(data), c.LocalAddr(), err)
		}
	})
}

// drained is what drain read: the bytes up to the end of the stream, or the error that ended it.
type drained struct {
	data string
	err  error
}

// readAll is a read running to the end of a stream.
type readAll <-chan drained

// get waits for the read to end and returns what it read.
func (r readAll) get(t *testing.T) string {
	t.Helper()
	d := <-r
	if d.err != nil {
		t.Errorf("reading to the end of the stream: %v", d.err)
	}
	return d.data
}

// drain reads c to its end in its own goroutine.
func drain(c *net.TCPConn) readAll {
	out := make(chan drained, 1)
	go func() {
		c.SetReadDeadline(time.Now().Add(waitLimit))
		b, err := io.ReadAll(c)
		out <- drained{string(b), err}
	}()
	return out
}
