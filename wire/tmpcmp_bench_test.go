package wire

import (
	"io"
	"testing"
)

func BenchmarkTmpIoCopyN(b *testing.B) {
	const size = 64 << 20
	in, inProxy := tcpPair(b)
	outProxy, out := tcpPair(b)
	go io.Copy(in, zeros{})
	go io.Copy(io.Discard, out)
	b.SetBytes(size)
	for b.Loop() {
		if _, err := io.CopyN(outProxy, inProxy, size); err != nil {
			b.Fatal(err)
		}
	}
}
