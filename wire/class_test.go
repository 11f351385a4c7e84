package wire

import (
	"strings"
	"testing"
)

// TestSkipClassMatchesTable checks the 8-bytes-at-a-time scan against a byte-by-byte lookup for
// every byte value at every position of a word, for both classes it serves.
func TestSkipClassMatchesTable(t *testing.T) {
	classes := []struct {
		name  string
		class uint8
		low   byte
	}{
		{"value", classValue, ' '},
		{"target", classTarget, '!'},
	}
	reference := func(buf []byte, i int, class uint8) int {
		for i < len(buf) && byteClass[buf[i]]&class != 0 {
			i++
		}
		return i
	}
	for _, cl := range classes {
		for c := range 256 {
			for pos := range 20 {
				for _, filler := range []string{"a", "\xff", "\t"} {
					buf := []byte(strings.Repeat(filler, 24))
					buf[pos] = byte(c)
					for start := range 3 {
						want := reference(buf, start, cl.class)
						if got := skipClass(buf, start, cl.class, cl.low); got != want {
							t.Fatalf("%s: skipClass(%q, %d) = %d, want %d", cl.name, buf, start, got, want)
						}
					}
				}
			}
		}
	}
}

func TestByteClasses(t *testing.T) {
	const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	const tchars = "!#$%&'*+-.^_`|~" + alnum
	const hostBytes = "-._~%!$&'()*+,;=:[]" + alnum
	for c := range 256 {
		b := byte(c)
		isT := strings.IndexByte(tchars, b) >= 0
		isTarget := b > ' ' && b != 0x7f
		isValue := isTarget || b == ' ' || b == '\t'
		isHost := strings.IndexByte(hostBytes, b) >= 0
		got := byteClass[b]
		if got&classToken != 0 != isT || got&classTarget != 0 != isTarget || got&classValue != 0 != isValue ||
			got&classHost != 0 != isHost {
			t.Errorf("byteClass[%#x] = %04b, want token %v, target %v, value %v, host %v", b, got, isT, isTarget, isValue, isHost)
		}
	}
}
