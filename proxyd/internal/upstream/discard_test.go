package upstream

import (
	"fmt"
	"testing"
	"time"
)

// TestDiscard closes the connection, takes its buffer back even when bytes were left unread, and
// never pools it.
func TestDiscard(t *testing.T) {
	for _, unread := range []string{"", "left over"} {
		t.Run(fmt.Sprintf("unread=%q", unread), func(t *testing.T) {
			b := startBackend(t)
			p := newPool(t, b, 1)
			c, sc := get(t, p, b)
			if unread != "" {
				if _, err := sc.Write([]byte(unread)); err != nil {
					t.Fatalf("backend write: %v", err)
				}
				c.TCPConn.SetReadDeadline(time.Now().Add(waitLimit))
				if _, err := c.Reader.Fill(); err != nil {
					t.Fatalf("Reader.Fill: %v", err)
				}
			}
			p.Discard(c)

			if !closed(c) {
				t.Error("connection still open after Discard")
			}
			if got := c.Reader.Cap(); got != 0 {
				t.Errorf("Reader keeps a %d-byte buffer after Discard, want none", got)
			}
			expectEOF(t, sc)
			if again, _ := get(t, p, b); again == c {
				t.Error("Get after Discard returned the discarded connection")
			}
		})
	}
}
