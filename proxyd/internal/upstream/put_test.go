package upstream

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestPutBoundByMaxIdle keeps the first maxIdle connections put back and closes the others; 0
// keeps none.
func TestPutBoundByMaxIdle(t *testing.T) {
	const taken = 4
	for _, maxIdle := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("maxIdle=%d", maxIdle), func(t *testing.T) {
			b := startBackend(t)
			p := newPool(t, b, maxIdle)
			conns := make([]*Conn, taken)
			ends := make([]*net.TCPConn, taken)
			for i := range conns {
				conns[i], ends[i] = get(t, p, b)
			}
			for _, c := range conns {
				p.Put(c)
			}

			var want, got []bool // closed, per connection
			for i, c := range conns {
				want = append(want, i >= maxIdle)
				got = append(got, closed(c))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("closed after Put, per connection (-want +got):\n%s", diff)
			}
			for i := maxIdle; i < taken; i++ {
				expectEOF(t, ends[i])
			}
			p.mu.Lock()
			idle := len(p.idle)
			p.mu.Unlock()
			if idle != maxIdle {
				t.Errorf("pool holds %d idle connections, want %d", idle, maxIdle)
			}
		})
	}
}

// TestPutUnreadBytes closes a connection whose Reader still buffers bytes (the backend sent more
// than one response) and keeps one whose bytes were all consumed.
func TestPutUnreadBytes(t *testing.T) {
	const sent = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n"
	tests := []struct {
		name       string
		consume    int // bytes taken from the Reader before Put
		wantClosed bool
	}{
		{name: "all consumed", consume: len(sent), wantClosed: false},
		{name: "one byte left", consume: len(sent) - 1, wantClosed: true},
		{name: "nothing consumed", consume: 0, wantClosed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := startBackend(t)
			p := newPool(t, b, 1)
			c, sc := get(t, p, b)
			if _, err := sc.Write([]byte(sent)); err != nil {
				t.Fatalf("backend write: %v", err)
			}
			c.TCPConn.SetReadDeadline(time.Now().Add(waitLimit))
			for len(c.Reader.Buffered()) < len(sent) {
				if _, err := c.Reader.Fill(); err != nil {
					t.Fatalf("Reader.Fill: %v", err)
				}
			}
			c.Reader.Discard(tt.consume)
			p.Put(c)

			if got := closed(c); got != tt.wantClosed {
				t.Fatalf("closed after Put = %v, want %v", got, tt.wantClosed)
			}
			again, _ := get(t, p, b)
			if reused := again == c; reused == tt.wantClosed {
				t.Errorf("Get after Put reused the connection = %v, want %v", reused, !tt.wantClosed)
			}
		})
	}
}
