package wire

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

// smallChunksBody is a chunked body of many small chunks, like a streamed API response, and a Reader
// over it with a 16 KiB buffer.
func smallChunksBody() (*strings.Builder, *strings.Reader, *Reader) {
	var body strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&body, "%x\r\n%s\r\n", 20+i%40, strings.Repeat("x", 20+i%40))
	}
	body.WriteString("0\r\n\r\n")
	src := strings.NewReader(body.String())
	r := NewReader(src)
	r.Attach(make([]byte, 16<<10))
	return &body, src, r
}

// BenchmarkCopyChunked relays a body of many small chunks.
func BenchmarkCopyChunked(b *testing.B) {
	body, src, r := smallChunksBody()
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(body.String())
		r.Reset(src)
		if _, err := CopyChunked(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChunkedReader decodes the body of BenchmarkCopyChunked.
func BenchmarkChunkedReader(b *testing.B) {
	body, src, r := smallChunksBody()
	buf := make([]byte, 16<<10)
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		src.Reset(body.String())
		r.Reset(src)
		cr := NewChunkedReader(r)
		for {
			_, err := cr.Read(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
