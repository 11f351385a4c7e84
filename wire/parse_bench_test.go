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
