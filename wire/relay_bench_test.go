package wire

import (
	"io"
	"testing"
)

// BenchmarkCopyLengthTCP relays 64 MiB bodies between loopback TCP connections (spliced on Linux).
func BenchmarkCopyLengthTCP(b *testing.B) {
	const size = 64 << 20
	in, inProxy := tcpPair(b)
	outProxy, out := tcpPair(b)
	go io.Copy(in, zeros{})
	go io.Copy(io.Discard, out)
	r := NewReader(inProxy)
	r.Attach(make([]byte, 16<<10))
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CopyLength(outProxy, r, size); err != nil {
			b.Fatal(err)
		}
	}
}

// zeros is an endless source of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
