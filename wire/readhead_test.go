package wire

import (
	"strings"
	"testing"
)

// TestParseHead gives a head's verdict from the bytes a Reader holds, without reading more: a
// head that ends within the limit is parsed, one that may go on is incomplete, and one that has
// not ended within the limit is too large, however many bytes are held.
func TestParseHead(t *testing.T) {
	const head = "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"
	for _, tc := range []struct {
		name      string
		held      string
		limit     int
		want      error
		malformed bool // want is any *Error
	}{
		{"whole", head, 64, nil, false},
		{"whole, with more after it", head + "GET", 64, nil, false},
		{"begun", head[:20], 64, ErrIncomplete, false},
		{"begun, up to the limit", head[:20], 20, ErrHeadTooLarge, false},
		{"longer than the limit", head, 20, ErrHeadTooLarge, false},
		{"malformed", "GET / HTTP/1.1\r\nHost : example.test\r\n\r\n", 64, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tc.held))
			r.Attach(make([]byte, 128))
			if _, err := r.Fill(); err != nil {
				t.Fatal(err)
			}
			var p RequestParser
			var h RequestHead
			err := ParseHead(r, tc.limit, func(buf []byte) error { return p.Parse(buf, &h) })
			if tc.malformed {
				asError(t, err)
			} else if err != tc.want {
				t.Errorf("ParseHead = %v, want %v", err, tc.want)
			}
			if got := string(r.Buffered()); got != tc.held {
				t.Errorf("ParseHead left %q buffered, want %q: it reads and discards nothing", got, tc.held)
			}
		})
	}
}
