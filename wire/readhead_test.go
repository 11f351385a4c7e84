package wire

import (
	"errors"
	"strings"
	"testing"
)

// TestParseHead gives a head's verdict from the bytes a Reader holds, without reading more: a
// head that ends within the limit is parsed, one that may go on is incomplete, and one that has
// not ended within the limit is too large, however many bytes are held.
func TestParseHead(t *testing.T) {
	const head = "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"
	for _, tc := range []struct {
		name  string
		held  string
		limit int
		want  error
	}{
		{"whole", head, 64, nil},
		{"whole, with more after it", head + "GET", 64, nil},
		{"begun", head[:20], 64, ErrIncomplete},
		{"begun, up to the limit", head[:20], 20, ErrHeadTooLarge},
		{"longer than the limit", head, 20, ErrHeadTooLarge},
		{"malformed", "GET / HTTP/1.1\r\nHost : example.test\r\n\r\n", 64, errMalformed},
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
			if tc.want == errMalformed {
				var we *Error
				if !errors.As(err, &we) {
					t.Errorf("ParseHead = %v, want a *wire.Error", err)
				}
			} else if err != tc.want {
				t.Errorf("ParseHead = %v, want %v", err, tc.want)
			}
			if got := string(r.Buffered()); got != tc.held {
				t.Errorf("ParseHead left %q buffered, want %q: it reads and discards nothing", got, tc.held)
			}
		})
	}
}

// errMalformed stands for any *Error in TestParseHead's cases.
var errMalformed = errors.New("malformed")
