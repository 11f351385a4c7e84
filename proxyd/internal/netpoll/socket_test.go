package netpoll

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"proxyd.dev/proxyd/internal/loopback"
)

// newSocket returns a Socket for c, failing the test if it cannot.
func newSocket(t *testing.T, c *net.TCPConn) *Socket {
	t.Helper()
	var s Socket
	if err := s.Init(c); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return &s
}

// TestSocketRead reads what the peer sent, waiting for it, and reports the peer's end, a reset
// and a passed deadline as the connection's own Read does.
func TestSocketRead(t *testing.T) {
	t.Run("waits for bytes", func(t *testing.T) {
		local, peer := loopback.Pair(t)
		local.SetReadDeadline(time.Now().Add(waitLimit))
		got := make(chan string, 1)
		go func() {
			buf := make([]byte, 16)
			n, err := newSocket(t, local).Read(buf)
			if err != nil {
				t.Errorf("Read: %v", err)
			}
			got <- string(buf[:n])
		}()
		sends("hello")(t, peer)
		if s := <-got; s != "hello" {
			t.Errorf("Read = %q, want %q", s, "hello")
		}
	})
	for _, c := range readEnds {
		t.Run(c.name, func(t *testing.T) {
			local, peer := loopback.Pair(t)
			c.act(t, peer)
			local.SetReadDeadline(time.Now().Add(waitLimit))
			n, err := newSocket(t, local).Read(make([]byte, 16))
			if n != 0 {
				t.Errorf("Read at the %s = %d bytes, want 0", c.name, n)
			}
			checkReadEnd(t, "Read", err, c.want)
		})
	}
	t.Run("deadline", func(t *testing.T) {
		local, _ := loopback.Pair(t)
		local.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := newSocket(t, local).Read(make([]byte, 16)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read past the deadline = %d, %v; want 0, os.ErrDeadlineExceeded", n, err)
		}
	})
}

// TestSocketWrite writes a buffer larger than the connection's buffers whole, waiting while the
// peer catches up; stops at the write deadline when the peer reads nothing, having written part;
// and reports a reset peer as the connection's own Write does.
func TestSocketWrite(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB
	t.Run("whole", func(t *testing.T) {
		local, peer := loopback.Pair(t)
		got := make(chan []byte, 1)
		go func() {
			peer.SetReadDeadline(time.Now().Add(waitLimit))
			b, err := io.ReadAll(peer)
			if err != nil {
				t.Errorf("peer reading: %v", err)
			}
			got <- b
		}()
		local.SetWriteDeadline(time.Now().Add(waitLimit))
		n, err := newSocket(t, local).Write(data)
		if n != len(data) || err != nil {
			t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(data))
		}
		local.CloseWrite()
		if !bytes.Equal(<-got, data) {
			t.Error("the peer did not read what was written")
		}
	})
	t.Run("deadline", func(t *testing.T) {
		local, _ := loopback.Pair(t)
		local.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := newSocket(t, local).Write(data)
		if n == 0 || n == len(data) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write to a peer that reads nothing = %d, %v; want part of %d, os.ErrDeadlineExceeded", n, err, len(data))
		}
	})
	t.Run("reset", func(t *testing.T) {
		local, peer := loopback.Pair(t)
		resets(t, peer)
		waitReadable(t, local)
		local.SetWriteDeadline(time.Now().Add(waitLimit))
		_, err := newSocket(t, local).Write([]byte("response"))
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "write" {
			t.Fatalf("Write to a reset peer = %v, want a *net.OpError of a write", err)
		}
	})
}

// TestSocketAllocatesNothing: a Socket is set up once per connection, its reads and writes cost no
// allocation.
func TestSocketAllocatesNothing(t *testing.T) {
	local, peer := loopback.Pair(t)
	s := newSocket(t, local)
	go io.Copy(peer, peer) // echoes every write
	ping, buf := []byte("ping"), make([]byte, 4)
	local.SetDeadline(time.Now().Add(waitLimit))
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := s.Write(ping); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if _, err := io.ReadFull(s, buf); err != nil {
			t.Fatalf("Read: %v", err)
		}
	})
	if allocs != 0 {
		t.Errorf("a Socket's write and read allocate %v times, want 0", allocs)
	}
}

// TestWithSocket gives a TCP connection a Socket's Read and Write, and leaves other connections as
// they are.
func TestWithSocket(t *testing.T) {
	local, peer := loopback.Pair(t)
	c, ok := WithSocket(local).(*Conn)
	if !ok {
		t.Fatalf("WithSocket(%T) is not a *Conn", local)
	}
	c.SetDeadline(time.Now().Add(waitLimit))
	go io.Copy(peer, peer) // echoes every write
	buf := make([]byte, 4)
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("ReadFull = %q, %v; want the echo %q", buf, err, "ping")
	}
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	if got := WithSocket(p1); got != p1 {
		t.Errorf("WithSocket(%T) = %T, want the connection itself", p1, got)
	}
}
