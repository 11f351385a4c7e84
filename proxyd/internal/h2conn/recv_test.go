package h2conn

import (
	"testing"

	"github.com/google/go-cmp/cmp"
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

// TestRecvBuffer checks that bytes come out in order, across reads of any size, and that Discard
// drops what waits.
func TestRecvBuffer(t *testing.T) {
	var b RecvBuffer
	b.Append([]byte("hello"))
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
	if n := b.Discard(); n != 4 || b.Len() != 0 {
		t.Errorf("Discard dropped %d, %d left; want 4, 0", n, b.Len())
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
