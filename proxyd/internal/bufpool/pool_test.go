package bufpool

import (
	"bytes"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rounds bounds the Put/Get rounds of a test. The pool may drop any buffer it is given (it always
// may, and the race detector makes it drop some on purpose), so a kept buffer is expected back
// within rounds tries, not at the first.
const rounds = 100

// shape is the length and capacity of a buffer.
type shape struct{ Len, Cap int }

func shapeOf(b []byte) shape { return shape{len(b), cap(b)} }

// TestGetSize hands out buffers of length and capacity Size from the zero Pool, each its own.
func TestGetSize(t *testing.T) {
	var p Pool
	a, b := p.Get(), p.Get()
	for _, buf := range [][]byte{a, b} {
		if diff := cmp.Diff(shape{Size, Size}, shapeOf(buf)); diff != "" {
			t.Errorf("Get (-want +got):\n%s", diff)
		}
	}
	a[0], b[0] = 'a', 'b'
	if a[0] != 'a' {
		t.Error("two buffers from Get share their bytes")
	}
}

// TestPutKeepsSizeBuffers gives a Size-capacity buffer back out of Get, at full length even when
// it was put back cut short.
func TestPutKeepsSizeBuffers(t *testing.T) {
	tests := []struct {
		name string
		buf  func(p *Pool) []byte
	}{
		{name: "from Get", buf: func(p *Pool) []byte { return p.Get() }},
		{name: "from Get, cut short", buf: func(p *Pool) []byte { return p.Get()[:10] }},
		{name: "from Get, emptied", buf: func(p *Pool) []byte { return p.Get()[:0] }},
		{name: "made elsewhere", buf: func(*Pool) []byte { return make([]byte, Size) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Pool
			put := tt.buf(&p)
			first := &put[:1][0]
			for range rounds {
				p.Put(put)
				got := p.Get()
				if diff := cmp.Diff(shape{Size, Size}, shapeOf(got)); diff != "" {
					t.Fatalf("Get after Put (-want +got):\n%s", diff)
				}
				if &got[0] == first {
					return
				}
			}
			t.Errorf("Get never gave back the buffer put in %d rounds", rounds)
		})
	}
}

// TestPutDropsForeignSizes never gives out a buffer whose capacity is not Size, however it was
// put back.
func TestPutDropsForeignSizes(t *testing.T) {
	tests := []struct {
		name string
		buf  []byte
	}{
		{name: "grown for a large head", buf: make([]byte, 2*Size)},
		{name: "length Size, larger capacity", buf: make([]byte, Size, Size+1)},
		{name: "smaller", buf: make([]byte, 1<<10)},
		{name: "one byte short", buf: make([]byte, Size-1)},
		{name: "pooled buffer past its first byte", buf: new([Size]byte)[1:]},
		{name: "empty", buf: []byte{}},
		{name: "nil", buf: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Pool
			for range rounds {
				p.Put(tt.buf)
				got := p.Get()
				if diff := cmp.Diff(shape{Size, Size}, shapeOf(got)); diff != "" {
					t.Fatalf("Get after Put of a %d/%d buffer (-want +got):\n%s", len(tt.buf), cap(tt.buf), diff)
				}
				if cap(tt.buf) > 0 && &got[0] == &tt.buf[:1][0] {
					t.Fatalf("Get gave back the %d/%d buffer that Put should have dropped", len(tt.buf), cap(tt.buf))
				}
			}
		})
	}
}

// TestConcurrentHolders never hands one buffer to two holders at once: each goroutine fills its
// buffer with its own mark and finds it intact before putting it back.
func TestConcurrentHolders(t *testing.T) {
	const holders = 8
	var p Pool
	var wg sync.WaitGroup
	for mark := range holders {
		wg.Go(func() {
			want := bytes.Repeat([]byte{byte(mark)}, Size)
			for range rounds {
				buf := p.Get()
				copy(buf, want)
				if !bytes.Equal(buf, want) {
					t.Errorf("holder %d: its buffer was overwritten by another holder", mark)
					return
				}
				p.Put(buf)
			}
		})
	}
	wg.Wait()
}
