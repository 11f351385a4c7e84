package h2conn

import (
	"bytes"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"proxyd.dev/proxyd/internal/bufpool"
	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/netpoll"
)

// pingFrame returns the bytes of a PING frame carrying b.
func pingFrame(t *testing.T, b byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := http2.NewFramer(&out, nil).WritePing(false, [8]byte{b}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// expectPing reads the next frame of c and checks it is the PING carrying b.
func expectPing(t *testing.T, c *Conn, b byte) {
	t.Helper()
	f, err := c.ReadFrame()
	if p, ok := f.(*http2.PingFrame); err != nil || !ok || p.Data[0] != b {
		t.Fatalf("ReadFrame = %v, %v; want the PING %d", f, err, b)
	}
}

// TestReadHoldsNoBufferWhenIdle reads frames through buffers borrowed from a pool: the first bytes
// given to New before the socket's, a frame whole, a frame whose payload comes after its header.
// Once a frame is read and nothing more is buffered, the connection holds no buffer.
func TestReadHoldsNoBufferWhenIdle(t *testing.T) {
	local, peer := loopback.Pair(t)
	local.SetReadDeadline(time.Now().Add(10 * time.Second))
	nc := netpoll.WithSocket(local)
	first := append([]byte(http2.ClientPreface), pingFrame(t, 1)...)
	c := New(nc, nil, first, new(bufpool.Pool), 1<<10, 0, nil)
	holdsNone := func(when string) {
		t.Helper()
		if n := c.rd.rd.Cap(); n != 0 {
			t.Errorf("%s: the connection holds a buffer of %d bytes, want none", when, n)
		}
	}

	preface := make([]byte, len(http2.ClientPreface))
	if err := c.ReadFull(preface); err != nil || string(preface) != http2.ClientPreface {
		t.Fatalf("ReadFull = %q, %v; want the preface", preface, err)
	}
	expectPing(t, c, 1)
	holdsNone("after the first bytes")

	write := func(p []byte) {
		t.Helper()
		if _, err := peer.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := c.rd.Read(nil); n != 0 || err != nil {
		t.Errorf("Read(nil) with nothing to read = %d, %v; want 0, nil at once", n, err)
	}
	write(pingFrame(t, 2))
	expectPing(t, c, 2)
	holdsNone("after a frame")

	split := pingFrame(t, 3)
	write(split[:frameHeaderLen])
	got := make(chan struct{})
	go func() {
		defer close(got)
		expectPing(t, c, 3)
	}()
	write(split[frameHeaderLen:])
	<-got
	holdsNone("after a frame read in two parts")
}

// TestReadKeepsOwnBuffer reads through a buffer of the connection's own when New is given no pool,
// or a connection that cannot wait without a buffer.
func TestReadKeepsOwnBuffer(t *testing.T) {
	for _, tc := range []struct {
		name string
		bufs netpoll.Buffers
		wrap func(net.Conn) net.Conn
	}{
		{"no pool", nil, netpoll.WithSocket},
		{"plain connection", new(bufpool.Pool), func(c net.Conn) net.Conn { return c }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local, peer := loopback.Pair(t)
			local.SetReadDeadline(time.Now().Add(10 * time.Second))
			c := New(tc.wrap(local), nil, nil, tc.bufs, 1<<10, 0, nil)
			if _, err := peer.Write(pingFrame(t, 1)); err != nil {
				t.Fatal(err)
			}
			expectPing(t, c, 1)
			if n := c.rd.rd.Cap(); n != FrameSize {
				t.Errorf("the connection holds a buffer of %d bytes, want its own of %d", n, FrameSize)
			}
		})
	}
}

// pooledConn returns a Conn over one end of a loopback pair, borrowing its buffers from a pool and
// with its reads bounded by a deadline, and the pair's other end.
func pooledConn(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	local, peer := loopback.Pair(t)
	local.SetReadDeadline(time.Now().Add(10 * time.Second))
	return New(netpoll.WithSocket(local), nil, nil, new(bufpool.Pool), 1<<10, 0, nil), peer
}

// TestRenewFrameReader replaces the Framer that reads frames, whose payload buffer is as large as
// the largest frame it read, once one over keptReadBuf was read (FrameReaderGrown) and nothing is
// left buffered: ReleaseReader lets go of it, and the next ReadFrame makes a new one.
func TestRenewFrameReader(t *testing.T) {
	c, peer := pooledConn(t)
	var out bytes.Buffer
	fr := http2.NewFramer(&out, nil)
	steps := []struct {
		what    string
		write   func()
		frames  int
		grown   bool // FrameReaderGrown before the renewal
		renewed bool
	}{
		{"small frames", func() { fr.WriteData(1, true, make([]byte, 100)); fr.WritePing(false, [8]byte{}) }, 2, false, false},
		{"a large frame, another buffered after it", func() { fr.WriteData(3, true, make([]byte, keptReadBuf+1)); fr.WritePing(false, [8]byte{}) }, 1, true, false},
		{"that other frame", nil, 1, true, true},
		{"small frames after the renewal", func() { fr.WritePing(false, [8]byte{}) }, 1, false, false},
	}
	for _, s := range steps {
		if s.write != nil {
			out.Reset()
			s.write()
			if _, err := peer.Write(out.Bytes()); err != nil {
				t.Fatal(err)
			}
		}
		for range s.frames {
			if _, err := c.ReadFrame(); err != nil {
				t.Fatalf("%s: ReadFrame: %v", s.what, err)
			}
		}
		if got := c.FrameReaderGrown(); got != s.grown {
			t.Errorf("after %s: FrameReaderGrown = %v, want %v", s.what, got, s.grown)
		}
		before := c.frames
		if c.FrameReaderGrown() {
			c.ReleaseReader()
		}
		if renewed := c.frames != before; renewed != s.renewed {
			t.Errorf("after %s: the frame reader renewed %v, want %v", s.what, renewed, s.renewed)
		}
	}
}

// TestAwaitFrame waits for a frame's bytes without framing them: a wait that its read deadline
// ends leaves the connection able to read the next frame whole, buffered bytes end the wait at
// once, and the bytes read go to ReadFrame; while it waits, the connection holds no buffer.
func TestAwaitFrame(t *testing.T) {
	c, peer := pooledConn(t)
	c.nc.SetReadDeadline(time.Now())
	if err := c.AwaitFrame(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("AwaitFrame past the deadline = %v, want %v", err, os.ErrDeadlineExceeded)
	}
	if n := c.rd.rd.Cap(); n != 0 {
		t.Errorf("after a wait that ended: the connection holds a buffer of %d bytes, want none", n)
	}
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := peer.Write(append(pingFrame(t, 1), pingFrame(t, 2)...)); err != nil {
		t.Fatal(err)
	}
	if err := c.AwaitFrame(); err != nil {
		t.Fatalf("AwaitFrame with a frame sent: %v", err)
	}
	expectPing(t, c, 1)
	if err := c.AwaitFrame(); err != nil { // the second PING is buffered already
		t.Fatalf("AwaitFrame with a frame buffered: %v", err)
	}
	expectPing(t, c, 2)
}

// TestReleaseReader lets go of the frame reader between frames, and reads on after it: a frame,
// then a header block decoded with the dynamic table the block before it filled. With bytes
// waiting to be framed, it keeps the reader.
func TestReleaseReader(t *testing.T) {
	c, peer := pooledConn(t)
	var out bytes.Buffer
	fr := http2.NewFramer(&out, nil)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	headers := func(id uint32) {
		t.Helper()
		block.Reset()
		enc.WriteField(hpack.HeaderField{Name: ":method", Value: "GET"})
		enc.WriteField(hpack.HeaderField{Name: "x-indexed", Value: "v"}) // a literal, then an index
		out.Reset()
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
		if _, err := peer.Write(out.Bytes()); err != nil {
			t.Fatal(err)
		}
		f, err := c.ReadFrame()
		m, ok := f.(*http2.MetaHeadersFrame)
		if err != nil || !ok || m.StreamID != id || len(m.Fields) != 2 || m.Fields[1].Value != "v" {
			t.Fatalf("ReadFrame = %v, %v; want the header block of stream %d", f, err, id)
		}
	}
	headers(1)
	c.ReleaseReader()
	if c.frames != nil {
		t.Fatal("ReleaseReader with nothing buffered kept the frame reader")
	}
	headers(3)

	local2, _ := loopback.Pair(t)
	c = New(netpoll.WithSocket(local2), nil, append(pingFrame(t, 1), pingFrame(t, 2)...), new(bufpool.Pool), 1<<10, 0, nil)
	expectPing(t, c, 1)
	c.ReleaseReader()
	if c.frames == nil {
		t.Fatal("ReleaseReader with a frame buffered dropped the frame reader")
	}
	expectPing(t, c, 2)
}
