package upstream

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/bufpool"
)

// TestGetReusesIdle gives back the connection put in, marked Reused, with a buffer attached again
// and still connected to the same backend end.
func TestGetReusesIdle(t *testing.T) {
	b := startBackend(t)
	p := newPool(t, b, 1)
	c, sc := get(t, p, b)
	p.Put(c)
	if got := c.Reader.Cap(); got != 0 {
		t.Errorf("an idle connection holds a %d-byte buffer, want none", got)
	}

	again, _ := get(t, p, b)
	if again != c {
		t.Fatal("Get dialed a new connection instead of reusing the idle one")
	}
	if !again.Reused {
		t.Error("a reused connection is not marked Reused")
	}
	if got := again.Reader.Cap(); got != bufpool.Size {
		t.Errorf("reused connection's buffer capacity = %d, want %d", got, bufpool.Size)
	}
	roundTrip(t, again, sc)
}

// TestGetMostRecentFirst reuses the connection put back last first.
func TestGetMostRecentFirst(t *testing.T) {
	b := startBackend(t)
	p := newPool(t, b, 3)
	var conns []*Conn
	for range 3 {
		c, _ := get(t, p, b)
		conns = append(conns, c)
	}
	for _, c := range conns {
		p.Put(c)
	}
	for i := len(conns) - 1; i >= 0; i-- {
		if c, _ := get(t, p, b); c != conns[i] {
			t.Errorf("Get returned another connection than the one put back %d from last", len(conns)-1-i)
		}
	}
}

// roundTrip sends a request on c and reads the backend's answer through c.Reader.
func roundTrip(t *testing.T, c *Conn, sc *net.TCPConn) {
	t.Helper()
	c.TCPConn.SetReadDeadline(time.Now().Add(waitLimit))
	sc.SetReadDeadline(time.Now().Add(waitLimit))
	const req, resp = "GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatalf("write on the connection: %v", err)
	}
	buf := make([]byte, len(req))
	if _, err := io.ReadFull(sc, buf); err != nil {
		t.Fatalf("backend read: %v", err)
	}
	if _, err := sc.Write([]byte(resp)); err != nil {
		t.Fatalf("backend write: %v", err)
	}
	for len(c.Reader.Buffered()) < len(resp) {
		if _, err := c.Reader.Fill(); err != nil {
			t.Fatalf("Reader.Fill: %v", err)
		}
	}
	if diff := cmp.Diff(resp, string(c.Reader.Buffered())); diff != "" {
		t.Errorf("answer read through the connection (-want +got):\n%s", diff)
	}
	c.Reader.Discard(len(resp))
}
