package h2conn

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/bufpool"
)

// TestWindow checks the flow-control arithmetic: what the peer sends is taken from the window,
// beyond it is an error, and consumed bytes go back in one update once half the window waits.
func TestWindow(t *testing.T) {
	w := NewWindow(100)
	var got []uint32
	if !w.Take(60) {
		t.Fatal("60 of 100 refused")
	}
	got = append(got, w.Consumed(30), w.Consumed(30))
	if !w.Take(100) {
		t.Fatal("100 refused after 60 were given back")
	}
	if w.Take(1) {
		t.Error("a byte beyond the window taken")
	}
	if diff := cmp.Diff([]uint32{0, 60}, got); diff != "" {
		t.Errorf("updates (-want +got):\n%s", diff)
	}
}

// TestWindowGrow checks that a grown window takes as much more, and gives consumed bytes back at
// half its new size.
func TestWindowGrow(t *testing.T) {
	w := NewWindow(100)
	got := []uint32{w.Grow(50)}
	if !w.Take(150) || w.Take(1) {
		t.Error("the grown window does not take exactly 150")
	}
	got = append(got, w.Consumed(74), w.Consumed(1))
	if diff := cmp.Diff([]uint32{50, 0, 75}, got); diff != "" || w.Size() != 150 {
		t.Errorf("size %d, updates (-want +got):\n%s", w.Size(), diff)
	}
}

// TestRecvBuffer checks that bytes come out in order, across reads of any size, that a few bytes
// take no pooled buffer, and that Discard drops what waits and gives its buffers back.
func TestRecvBuffer(t *testing.T) {
	b := NewRecvBuffer(new(bufpool.Pool))
	b.Append([]byte("hello"))
	if held := cap(b.bufs[0]); held > smallFirst {
		t.Errorf("5 bytes hold %d", held)
	}
	b.Append([]byte(" world"))
	p := make([]byte, 4)
	var out []byte
	for b.Len() > 0 {
		n := b.Read(p)
		out = append(out, p[:n]...)
	}
	if string(out) != "hello world" {
		t.Errorf("read %q", out)
	}
	b.Append([]byte("rest"))
	if n := b.Discard(); n != 4 || b.Len() != 0 || len(b.bufs) != 0 {
		t.Errorf("Discard dropped %d, %d left in %d buffers; want 4, 0, 0", n, b.Len(), len(b.bufs))
	}
}

// TestRecvBufferFollowsWaiting streams 64 MiB through a buffer whose reader stays a little behind
// its writer, as a reader does that writes to a slower backend or client, so that the buffer is
// never empty: the buffers held follow the bytes that wait, not the bytes that passed, and none is
// held once the reader has caught up. The bytes come out in order, across buffer boundaries.
func TestRecvBufferFollowsWaiting(t *testing.T) {
	const (
		frame   = 16<<10 + 7 // not a multiple of the buffers' size
		behind  = 100 << 10  // what waits between the writer and the reader
		total   = 64 << 20
		maxHeld = (behind+frame)/bufpool.Size + 2
	)
	b := NewRecvBuffer(new(bufpool.Pool))
	in, out := make([]byte, frame), make([]byte, 12<<10)
	var sent, read int
	check := func(p []byte) {
		for i, c := range p {
			if c != byte((read+i)%251) {
				t.Fatalf("byte %d is %d, want %d", read+i, c, byte((read+i)%251))
			}
		}
		read += len(p)
	}
	for sent < total {
		for i := range in {
			in[i] = byte((sent + i) % 251)
		}
		b.Append(in)
		sent += frame
		for b.Len() > behind {
			check(out[:b.Read(out)])
		}
		if len(b.bufs) > maxHeld {
			t.Fatalf("after %d bytes, %d waiting: %d buffers held, want at most %d", sent, b.Len(), len(b.bufs), maxHeld)
		}
	}
	for b.Len() > 0 {
		check(out[:b.Read(out)])
	}
	if read != sent || len(b.bufs) != 0 || cap(b.bufs) > keptBufs {
		t.Errorf("read %d of %d bytes; %d buffers held, room for %d; want all, 0, at most %d", read, sent, len(b.bufs), cap(b.bufs), keptBufs)
	}
}

// TestReserve checks that a reservation takes from both windows at once, is bounded by the smaller
// window and the frame size, and is 0 while either window is empty or negative.
func TestReserve(t *testing.T) {
	stream, conn := int64(100), int64(50)
	got := []int{Reserve(80, &stream, &conn, 40), Reserve(80, &stream, &conn, 40), Reserve(1, &stream, &conn, 40)}
	stream, conn = -5, 100
	got = append(got, Reserve(1, &stream, &conn, 40))
	if diff := cmp.Diff([]int{40, 10, 0, 0}, got); diff != "" {
		t.Errorf("reservations (-want +got):\n%s", diff)
	}
}

// FuzzRecvBuffer runs a sequence of appends and reads, each byte of ops one of them, through a
// RecvBuffer and a bytes.Buffer: both give the same bytes, and the RecvBuffer holds no more
// buffers than its waiting bytes fill and one more.
func FuzzRecvBuffer(f *testing.F) {
	f.Add([]byte{0x80, 0x81, 0xfe, 0x03, 0xff, 0xff})
	f.Add([]byte{0xfe, 0xfe, 0xfe, 0xfe, 0x01, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, ops []byte) {
		b := NewRecvBuffer(new(bufpool.Pool))
		var ref bytes.Buffer
		var next byte
		for i, op := range ops {
			if op&1 == 0 { // append up to 16,637 bytes
				p := make([]byte, int(op>>1)*131)
				for j := range p {
					p[j], next = next, next+1
				}
				b.Append(p)
				ref.Write(p)
			} else { // read into up to 12,320 bytes
				p, want := make([]byte, int(op>>1)*97+1), make([]byte, int(op>>1)*97+1)
				n := b.Read(p)
				m, _ := ref.Read(want)
				if !bytes.Equal(p[:n], want[:m]) {
					t.Fatalf("op %d: read %d bytes, want %d, or other bytes", i, n, m)
				}
			}
			if b.Len() != ref.Len() || len(b.bufs) > (b.Len()+bufpool.Size-1)/bufpool.Size+1 {
				t.Fatalf("op %d: %d bytes waiting in %d buffers; want %d waiting", i, b.Len(), len(b.bufs), ref.Len())
			}
		}
	})
}
