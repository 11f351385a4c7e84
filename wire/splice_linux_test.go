package wire

import (
	"io"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSpliceTCP checks that the splice path moves the bytes itself and moves them intact.
func TestSpliceTCP(t *testing.T) {
	const size = 8 << 20
	in, inProxy := tcpPair(t)
	outProxy, out := tcpPair(t)
	go io.Copy(in, randomStream(size+10, 2))
	sums := make(chan [32]byte, 1)
	go func() {
		sum, _ := sumOf(out, size)
		sums <- sum
	}()
	n, handled, err := splice(outProxy, inProxy, size, nil)
	if !handled || err != nil || n != size {
		t.Fatalf("splice = %d, handled %v, %v; want %d, handled", n, handled, err, size)
	}
	if receive(t, sums, "the receiver's checksum") != streamSum(t, size, 2) {
		t.Error("spliced bytes differ from the source")
	}
}

// TestSplicePipeSize checks that the pipe grows to hold what one splice(2) moves, up to
// maxSpliceSize, rather than keep the kernel's 64 KiB, which takes sixteen times the calls.
func TestSplicePipeSize(t *testing.T) {
	for _, c := range []struct{ n, want int64 }{
		{n: 256 << 10, want: 256 << 10},
		{n: 256 << 20, want: maxSpliceSize},
	} {
		var p pipeSplicer
		if err := p.open(c.n); err != nil {
			t.Fatal(err)
		}
		size, err := unix.FcntlInt(uintptr(p.pipe[0]), unix.F_GETPIPE_SZ, 0)
		p.close()
		if err != nil {
			t.Fatal(err)
		}
		if int64(size) != c.want {
			t.Errorf("pipe for %d bytes holds %d; want %d", c.n, size, c.want)
		}
	}
}
