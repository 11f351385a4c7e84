package upstream

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/bufpool"
)

// TestDial opens a new connection to the backend, never reused, with a Size buffer attached and
// its Reader reading what the backend sends.
func TestDial(t *testing.T) {
	b := startBackend(t)
	p := newPool(t, b, 1)
	if got := p.Addr(); got != b.addr() {
		t.Errorf("Addr = %q, want %q", got, b.addr())
	}
	c, err := p.Dial()
	if err != nil {
		t.Fatalf("Dial %s: %v", b.addr(), err)
	}
	defer c.TCPConn.Close()
	sc := b.accept(t, c)

	if c.Reused {
		t.Error("a dialed connection is marked Reused")
	}
	if got := c.Reader.Cap(); got != bufpool.Size {
		t.Errorf("Reader buffer capacity = %d, want %d", got, bufpool.Size)
	}
	if _, err := sc.Write([]byte("HTTP/1.1 200 OK\r\n")); err != nil {
		t.Fatalf("backend write: %v", err)
	}
	if _, err := c.Reader.Fill(); err != nil {
		t.Fatalf("Reader.Fill: %v", err)
	}
	if diff := cmp.Diff("HTTP/1.1 200 OK\r\n", string(c.Reader.Buffered())); diff != "" {
		t.Errorf("Reader after Fill (-want +got):\n%s", diff)
	}
}

// TestDialRefused reports an error naming the backend when nothing listens there, from Dial and
// from Get on an empty pool; the OnDial hook counts both attempts.
func TestDialRefused(t *testing.T) {
	b := startBackend(t)
	addr := b.addr()
	b.ln.Close()
	p := NewPool(addr, testDialTimeout, 1, &bufpool.Pool{}, nil)
	defer p.Close()
	dials := 0
	p.OnDial(func() { dials++ })
	defer func() {
		if dials != 2 {
			t.Errorf("OnDial hook called %d times, want 2", dials)
		}
	}()

	for name, dial := range map[string]func() (*Conn, error){"Dial": p.Dial, "Get": p.Get} {
		c, err := dial()
		if err == nil {
			c.TCPConn.Close()
			t.Fatalf("%s to %s with nothing listening succeeded", name, addr)
		}
		if !strings.Contains(err.Error(), addr) {
			t.Errorf("%s error %q does not name the backend %s", name, err, addr)
		}
	}
}
