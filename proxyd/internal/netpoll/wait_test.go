package netpoll

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/loopback"
)

// TestWaitReadableReady returns nil once the peer has sent bytes, closed or reset the connection,
// and leaves what arrived for the next Read: the bytes unread, or the end reported as an error.
func TestWaitReadableReady(t *testing.T) {
	for _, tt := range readyCases("hello, backend") {
		t.Run(tt.name, func(t *testing.T) {
			local, peer := loopback.Pair(t)
			done := make(chan error, 1)
			go func() {
				local.SetReadDeadline(time.Now().Add(waitLimit))
				done <- WaitReadable(local)
			}()
			tt.peerDoes(t, peer)
			if err := <-done; err != nil {
				t.Fatalf("WaitReadable after the peer acted: %v, want nil", err)
			}
			checkLeft(t, local, tt.wantData, "WaitReadable")
		})
	}
}

// TestWaitReadableAlreadyPending returns when bytes arrived before the call, and the
// bytes stay readable afterwards, also after a second wait.
func TestWaitReadableAlreadyPending(t *testing.T) {
	local, peer := loopback.Pair(t)
	sends("x")(t, peer)
	waitReadable(t, local)
	waitReadable(t, local) // waiting takes nothing away

	buf := make([]byte, 2)
	local.SetReadDeadline(time.Now().Add(waitLimit))
	n, err := local.Read(buf)
	if err != nil {
		t.Fatalf("Read after WaitReadable: %v", err)
	}
	if diff := cmp.Diff("x", string(buf[:n])); diff != "" {
		t.Errorf("Read after WaitReadable (-want +got):\n%s", diff)
	}
}

// TestWaitReadableDeadline returns os.ErrDeadlineExceeded when the read deadline passes on a
// quiet connection, both a deadline already past and one that passes during the wait.
func TestWaitReadableDeadline(t *testing.T) {
	tests := []struct {
		name   string
		offset time.Duration
	}{
		{name: "already past", offset: -time.Second},
		{name: "passes while waiting", offset: 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local, _ := loopback.Pair(t)
			start := time.Now()
			local.SetReadDeadline(start.Add(tt.offset))
			err := WaitReadable(local)
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("WaitReadable on a quiet connection = %v, want os.ErrDeadlineExceeded", err)
			}
			if elapsed := time.Since(start); elapsed < tt.offset {
				t.Errorf("WaitReadable returned after %v, before the deadline %v", elapsed, tt.offset)
			}
		})
	}
}

// TestWaitReadableClosed returns net.ErrClosed when the connection is closed during the wait
// (or, if the close wins the race with the call, before it).
func TestWaitReadableClosed(t *testing.T) {
	local, _ := loopback.Pair(t)
	local.SetReadDeadline(time.Now().Add(waitLimit))
	done := make(chan error, 1)
	go func() { done <- WaitReadable(local) }()
	local.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WaitReadable on a connection closed while waiting = %v, want net.ErrClosed", err)
	}
}

// TestWaitReadableNoRawConn returns the error of a connection that cannot give its descriptor.
func TestWaitReadableNoRawConn(t *testing.T) {
	if err := WaitReadable(noRawConn{}); !errors.Is(err, errNoRawConn) {
		t.Fatalf("WaitReadable(noRawConn) = %v, want %v", err, errNoRawConn)
	}
}
