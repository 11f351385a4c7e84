package h2conn

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"proxyd.dev/proxyd/internal/loopback"
)

// TestFlushNoWaitDoesNotWait writes far more than the socket buffers hold to a peer that reads
// nothing yet, each write flushed with FlushNoWait: no call waits, and once the peer reads,
// every byte arrives, in the order written.
func TestFlushNoWaitDoesNotWait(t *testing.T) {
	nc, peer := loopback.Pair(t)
	rc, err := nc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	c := New(nc, rc, nil, nil, 0, 0, nil)

	var want bytes.Buffer
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		for i := range 256 {
			chunk := fmt.Sprintf("%05d", i) + string(bytes.Repeat([]byte{'a' + byte(i%26)}, 32<<10))
			want.WriteString(chunk)
			c.LockUnbounded()
			c.WriteString(chunk)
			c.UnlockLater()
			c.FlushNoWait()
		}
	}()
	select {
	case <-wrote:
	case <-time.After(10 * time.Second):
		t.Fatal("FlushNoWait waited for a peer that reads nothing")
	}

	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(peer)
		got <- b
	}()
	if err := c.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	nc.Close()
	if b := <-got; !bytes.Equal(b, want.Bytes()) {
		t.Errorf("the peer read %d bytes, not the %d written in order", len(b), want.Len())
	}
}
