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

// writeCounter is a net.Conn whose writes are recorded, one entry per Write call; while gate is
// set, each write waits for a value from it.
type writeCounter struct {
	net.Conn
	gate    chan struct{}
	entered chan struct{} // receives a value as each write starts, when set
	mu      sync.Mutex
	writes  [][]byte
}

func (w *writeCounter) Write(p []byte) (int, error) {
	if w.entered != nil {
		w.entered <- struct{}{}
	}
	if w.gate != nil {
		<-w.gate
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, bytes.Clone(p))
	return len(p), nil
}

func (w *writeCounter) SetWriteDeadline(time.Time) error { return nil }

// ping writes one PING frame through c.
func ping(t *testing.T, c *Conn, b byte) {
	t.Helper()
	c.Lock()
	c.Framer.WritePing(false, [8]byte{b})
	if err := c.Unlock(); err != nil {
		t.Error(err)
	}
}

// TestWritersShareAWrite checks that writers who come while another writes to the socket return at
// once, and that their frames go in one write, made by the writer already writing.
func TestWritersShareAWrite(t *testing.T) {
	nc := &writeCounter{gate: make(chan struct{}), entered: make(chan struct{}, 4)}
	c := New(nc, nil, nil, nil, 1<<10, time.Second, nil)
	first := make(chan struct{})
	go func() {
		defer close(first)
		ping(t, c, 1) // writes, and waits in the socket's write until the gate opens
	}()
	<-nc.entered
	ping(t, c, 2) // returns at once: the first writer writes these frames too
	ping(t, c, 3)
	close(nc.gate)
	<-first
	if diff := cmp.Diff([]int{17, 34}, lens(nc.writes)); diff != "" {
		t.Errorf("write sizes (-want +got):\n%s", diff)
	}
}

// TestUnlockAloneWrites checks that a writer alone writes its frames before Unlock returns, also
// when Busy says others may come.
func TestUnlockAloneWrites(t *testing.T) {
	for _, busy := range []bool{false, true} {
		nc := &writeCounter{}
		c := New(nc, nil, nil, nil, 1<<10, 0, nil)
		asked := 0
		c.Busy = func() bool { asked++; return busy }
		for i := range 2 {
			ping(t, c, byte(i))
			if len(nc.writes) != i+1 {
				t.Fatalf("busy %v: after %d PINGs, %d writes", busy, i+1, len(nc.writes))
			}
		}
		if asked != 2 {
			t.Errorf("busy %v: Busy asked %d times, want once a write", busy, asked)
		}
	}
}

// TestWriteErrorReported checks that a failed write is reported once to onError and by every
// Unlock after it.
func TestWriteErrorReported(t *testing.T) {
	client, server := net.Pipe()
	client.Close()
	var reported []error
	c := New(server, nil, nil, nil, 1<<10, 0, func(err error) { reported = append(reported, err) })
	c.Lock()
	c.Framer.WritePing(false, [8]byte{})
	first := c.Unlock()
	c.Lock()
	second := c.Unlock()
	if first == nil || second == nil || len(reported) != 1 {
		t.Errorf("Unlock errors %v, %v; onError got %v; want two errors and one report", first, second, reported)
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
	c := New(server, nil, nil, nil, 1<<20, 0, nil)
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
	c := New(&writeCounter{}, nil, nil, nil, 1<<10, 0, nil)
	got := c.Header([]hpack.HeaderField{{Name: "x-a", Value: "1"}, {Name: "content-type", Value: "t"}, {Name: "x-a", Value: "2"}})
	want := http.Header{"X-A": {"1", "2"}, "Content-Type": {"t"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
}

// TestBurstBufferReleased checks that the buffer of a burst larger than maxKept does not stay with
// the connection once written.
func TestBurstBufferReleased(t *testing.T) {
	c := New(&writeCounter{}, nil, nil, nil, 1<<10, 0, nil)
	c.Lock()
	for range 10 {
		c.Framer.WriteData(1, false, make([]byte, FrameSize))
	}
	if err := c.Unlock(); err != nil {
		t.Fatal(err)
	}
	if n := cap(c.pending) + cap(c.spare); n > 2*maxKept {
		t.Errorf("%d bytes of buffers kept after a burst of %d, want at most %d", n, 10*FrameSize, 2*maxKept)
	}
}

// TestSendWindowUpdates checks that SendWindowUpdates writes a WINDOW_UPDATE for each increment
// that is not 0, and nothing at all when both are.
func TestSendWindowUpdates(t *testing.T) {
	for _, tc := range []struct {
		name         string
		inc, connInc uint32
		want         []int // the sizes of the writes: a WINDOW_UPDATE frame is 13 bytes
	}{
		{"none", 0, 0, nil},
		{"stream only", 10, 0, []int{13}},
		{"connection only", 0, 10, []int{13}},
		{"both", 10, 20, []int{26}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := &writeCounter{}
			New(nc, nil, nil, nil, 1<<10, 0, nil).SendWindowUpdates(1, tc.inc, tc.connInc)
			if diff := cmp.Diff(tc.want, lens(nc.writes)); diff != "" {
				t.Errorf("write sizes (-want +got):\n%s", diff)
			}
		})
	}
}

// settingsFrame returns a SETTINGS frame of settings, as a reader gets it.
func settingsFrame(t *testing.T, settings ...http2.Setting) *http2.SettingsFrame {
	t.Helper()
	var buf bytes.Buffer
	http2.NewFramer(&buf, nil).WriteSettings(settings...)
	f, err := http2.NewFramer(nil, &buf).ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	return f.(*http2.SettingsFrame)
}

// TestApplySettings checks that ApplySettings keeps the settings both roles keep, in order, hands
// the change of the initial window to grow and the rest to other, and acknowledges only a frame
// whose settings are all valid and taken.
func TestApplySettings(t *testing.T) {
	type applied struct {
		MaxFrame      uint32
		InitialWindow int64
		Grown         []int64
		Other         []http2.Setting
		Acked         bool
		Err           bool
	}
	for _, tc := range []struct {
		name     string
		settings []http2.Setting
		growErr  error
		want     applied
	}{
		{"in order, repeated", []http2.Setting{
			{ID: http2.SettingInitialWindowSize, Val: 100},
			{ID: http2.SettingMaxFrameSize, Val: 1 << 15},
			{ID: http2.SettingMaxConcurrentStreams, Val: 7},
			{ID: http2.SettingInitialWindowSize, Val: 50},
		}, nil, applied{MaxFrame: 1 << 15, InitialWindow: 50, Grown: []int64{100 - InitialWindow, -50},
			Other: []http2.Setting{{ID: http2.SettingMaxConcurrentStreams, Val: 7}}, Acked: true}},
		{"invalid", []http2.Setting{{ID: http2.SettingMaxFrameSize, Val: 1}}, nil,
			applied{MaxFrame: FrameSize, InitialWindow: InitialWindow, Err: true}},
		{"grow fails", []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 1}}, http2.ConnectionError(http2.ErrCodeFlowControl),
			applied{MaxFrame: FrameSize, InitialWindow: 1, Grown: []int64{1 - InitialWindow}, Err: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := &writeCounter{}
			c := New(nc, nil, nil, nil, 1<<10, 0, nil)
			got := applied{MaxFrame: FrameSize, InitialWindow: InitialWindow}
			c.Lock()
			err := c.ApplySettings(settingsFrame(t, tc.settings...), &got.MaxFrame, &got.InitialWindow,
				func(delta int64) error { got.Grown = append(got.Grown, delta); return tc.growErr },
				func(s http2.Setting) { got.Other = append(got.Other, s) })
			c.Unlock()
			got.Err = err != nil
			got.Acked = len(nc.writes) == 1 && len(nc.writes[0]) == 9 // an empty SETTINGS with ACK
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("applied (-want +got):\n%s", diff)
			}
		})
	}
}
