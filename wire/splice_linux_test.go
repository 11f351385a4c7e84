package wire

import (
	"io"
	"testing"
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
