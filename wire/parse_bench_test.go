package wire

import "testing"

func BenchmarkParseRequestHead(b *testing.B) {
	for _, bc := range []struct{ name, head string }{
		{"chrome", chromeRequest},
		{"curl", curlRequest},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := []byte(bc.head)
			var h RequestHead
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				if err := ParseRequestHead(buf, &h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseResponseHead(b *testing.B) {
	buf := []byte(typicalResponse)
	var h ResponseHead
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseResponseHead(buf, &h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDrippedHead parses a 64 KiB request head of 16,000 lines that a slow client sends one
// line per packet, with one RequestParser call per line (or per byte): one op is the whole head.
// Parsing each prefix from its start would be quadratic, about a second per head.
func BenchmarkDrippedHead(b *testing.B) {
	head := drippedHead()
	for _, bc := range []struct {
		name string
		ends []int
	}{
		{"lines", lineEnds(head)},
		{"bytes", byteEnds(len(head))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var p RequestParser
			var h RequestHead
			b.SetBytes(int64(len(head)))
			b.ReportAllocs()
			for b.Loop() {
				for _, end := range bc.ends {
					if err := p.Parse(head[:end], &h); err != nil && (err != ErrIncomplete || end == len(head)) {
						b.Fatalf("%d bytes: %v", end, err)
					}
				}
			}
		})
	}
}
