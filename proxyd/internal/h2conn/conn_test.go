package h2conn

import (
	"bytes"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// writeCounter is a net.Conn whose writes are recorded, one entry per Write call.
type writeCounter struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (w *writeCounter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

func (w *writeCounter) SetWriteDeadline(time.Time) error { return nil }

// TestUnlockFlushesOncePerBurst checks that a writer that leaves while another waits for the
// write side does not flush: the waiting one flushes both writers' frames in one write.
func TestUnlockFlushesOncePerBurst(t *testing.T) {
	nc := &writeCounter{}
	c := New(nc, 1<<10, time.Second)
	c.Lock()
	done := make(chan error)
	go func() {
		c.Lock()
		c.Framer.WritePing(false, [8]byte{2})
		done <- c.Unlock()
	}()
	for c.writers.Load() != 2 { // the second writer is waiting for the lock
		time.Sleep(time.Millisecond) // a poll of a condition, bounded by the test's timeout
	}
	c.Framer.WritePing(false, [8]byte{1})
	if err := c.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(nc.writes) != 1 || len(nc.writes[0]) != 2*(9+8) {
		t.Errorf("writes of %v bytes, want one of both PING frames (34 bytes)", lens(nc.writes))
	}
}

// TestUnlockAloneFlushes checks that a writer alone flushes its frames at once.
func TestUnlockAloneFlushes(t *testing.T) {
	nc := &writeCounter{}
	c := New(nc, 1<<10, 0)
	for range 2 {
		c.Lock()
		c.Framer.WritePing(false, [8]byte{})
		if err := c.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]int{17, 17}, lens(nc.writes)); diff != "" {
		t.Errorf("write sizes (-want +got):\n%s", diff)
	}
}

func lens(writes [][]byte) []int {
	var n []int
	for _, w := range writes {
		n = append(n, len(w))
	}
	return n
}

// TestWriteBlockSplits checks that a header block longer than the frame size goes as HEADERS and
// CONTINUATION frames, which decode to the fields written, in lower case.
func TestWriteBlockSplits(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	c := New(server, 1<<20, 0)
	h := http.Header{"X-Long": {string(bytes.Repeat([]byte("a"), 100))}, "Accept": {"*/*"}}
	go func() {
		c.Lock()
		c.StartBlock()
		c.Field(":status", "200")
		c.Fields(h, func(string, []string) bool { return true })
		c.WriteBlock(1, true, 40)
		c.Unlock()
	}()
	fr := http2.NewFramer(nil, client)
	fr.ReadMetaHeaders = hpack.NewDecoder(HeaderTableSize, nil)
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	mh, ok := f.(*http2.MetaHeadersFrame)
	if !ok {
		t.Fatalf("frame %v, want HEADERS", f)
	}
	got := map[string]string{}
	for _, hf := range mh.Fields {
		got[hf.Name] = hf.Value
	}
	want := map[string]string{":status": "200", "x-long": h.Get("X-Long"), "accept": "*/*"}
	if diff := cmp.Diff(want, got); diff != "" || !mh.StreamEnded() {
		t.Errorf("fields (-want +got):\n%s\nended %v", diff, mh.StreamEnded())
	}
}

// TestHeaderCanonical checks that received names come back canonical, values in order.
func TestHeaderCanonical(t *testing.T) {
	c := New(&writeCounter{}, 1<<10, 0)
	got := c.Header([]hpack.HeaderField{{Name: "x-a", Value: "1"}, {Name: "content-type", Value: "t"}, {Name: "x-a", Value: "2"}})
	want := http.Header{"X-A": {"1", "2"}, "Content-Type": {"t"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
}
