package upstream

import (
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestClose closes the idle connections, and each connection put back afterwards; a Get after
// Close dials anew instead of handing out a closed connection.
func TestClose(t *testing.T) {
	b := startBackend(t)
	p := newPool(t, b, 4)
	var idle, busy []*Conn
	var ends []*net.TCPConn
	for i := range 4 {
		c, sc := get(t, p, b)
		ends = append(ends, sc)
		if i < 2 {
			idle = append(idle, c)
		} else {
			busy = append(busy, c)
		}
	}
	for _, c := range idle {
		p.Put(c)
	}

	p.Close()
	for _, c := range busy {
		p.Put(c)
	}
	var got []bool
	for _, c := range append(idle, busy...) {
		got = append(got, closed(c))
	}
	if diff := cmp.Diff([]bool{true, true, true, true}, got); diff != "" {
		t.Errorf("closed after Close, idle ones then ones put back later (-want +got):\n%s", diff)
	}
	for _, sc := range ends {
		expectEOF(t, sc)
	}

	c, _ := get(t, p, b)
	if c.Reused {
		t.Error("Get after Close returned a reused connection")
	}
}
