package wire

import (
	"io"
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSpliceTCP checks that the splice path moves the bytes itself and moves them intact.
func TestSpliceTCP(t *testing.T) {
	const size = 8 << 20
	in, inProxy := tcpPair(t)
	outProxy, out := tcpPair(t)
	go io.Copy(in, randomStream(size+10, 2))
	sums := make(chan [32]byte, 1)
	go func() {
		sum, _ := sumOf(out, size)
		sums <- sum
	}()
	pipes := NewPipeBudget(maxSpliceSize)
	n, handled, err := splice(outProxy, inProxy, size, nil, pipes)
	if !handled || err != nil || n != size {
		t.Fatalf("splice = %d, handled %v, %v; want %d, handled", n, handled, err, size)
	}
	if receive(t, sums, "the receiver's checksum") != streamSum(t, size, 2) {
		t.Error("spliced bytes differ from the source")
	}
	if used := pipes.Used(); used != 0 {
		t.Errorf("the pipe budget holds %d bytes after the splice; want 0", used)
	}
}

// namedConn reads and writes a TCP connection by its own Read and Write, which count their calls,
// and names it: a TCPSource and a TCPSink.
type namedConn struct {
	conn          *net.TCPConn
	reads, writes int
}

func (c *namedConn) Read(p []byte) (int, error)  { c.reads++; return c.conn.Read(p) }
func (c *namedConn) Write(p []byte) (int, error) { c.writes++; return c.conn.Write(p) }
func (c *namedConn) TCPConn() *net.TCPConn       { return c.conn }

// wrappedConn wraps a TCP connection without naming it.
type wrappedConn struct{ *net.TCPConn }

// TestSpliceNamed checks that a TCPSource is spliced from and a TCPSink to as their connections,
// their Read and Write left unused, while a wrapper that does not name its connection is not
// spliced at all.
func TestSpliceNamed(t *testing.T) {
	const size = 1 << 20
	for seed, c := range []struct {
		name string
		ends func(src, dst *net.TCPConn) (io.Reader, io.Writer, *namedConn)
	}{
		{name: "source", ends: func(src, dst *net.TCPConn) (io.Reader, io.Writer, *namedConn) {
			named := &namedConn{conn: src}
			return named, dst, named
		}},
		{name: "sink", ends: func(src, dst *net.TCPConn) (io.Reader, io.Writer, *namedConn) {
			named := &namedConn{conn: dst}
			return src, named, named
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			in, inProxy := tcpPair(t)
			outProxy, out := tcpPair(t)
			go io.Copy(in, randomStream(size, byte(seed)))
			sums := make(chan [32]byte, 1)
			go func() {
				sum, _ := sumOf(out, size)
				sums <- sum
			}()
			if _, handled, _ := splice(outProxy, wrappedConn{inProxy}, size, nil, nil); handled {
				t.Fatal("a source that does not name its connection was spliced from")
			}
			if _, handled, _ := splice(wrappedConn{outProxy}, inProxy, size, nil, nil); handled {
				t.Fatal("a destination that does not name its connection was spliced to")
			}
			src, dst, named := c.ends(inProxy, outProxy)
			n, handled, err := splice(dst, src, size, nil, nil)
			if !handled || err != nil || n != size {
				t.Fatalf("splice = %d, handled %v, %v; want %d, handled", n, handled, err, size)
			}
			if named.reads != 0 || named.writes != 0 {
				t.Errorf("the named connection's Read and Write were called %d and %d times; want none", named.reads, named.writes)
			}
			if receive(t, sums, "the receiver's checksum") != streamSum(t, size, byte(seed)) {
				t.Error("spliced bytes differ from the source")
			}
		})
	}
}

// TestSplicePipeSize checks that the pipe grows to hold what one splice(2) moves, up to
// maxSpliceSize and as far as the budget allows, rather than keep the kernel's 64 KiB, which takes
// sixteen times the calls; and that closing the pipe gives its growth back and closes both its
// descriptors.
func TestSplicePipeSize(t *testing.T) {
	for _, c := range []struct {
		name   string
		n      int64
		budget *PipeBudget
		want   int64 // the pipe's size
		used   int64 // the budget held while the pipe is open
	}{
		{name: "256 KiB", n: 256 << 10, budget: NewPipeBudget(maxSpliceSize), want: 256 << 10, used: 256<<10 - defaultPipeSize()},
		{name: "rounded up", n: 100 << 10, budget: NewPipeBudget(maxSpliceSize), want: 128 << 10, used: 128<<10 - defaultPipeSize()},
		{name: "256 MiB", n: 256 << 20, budget: NewPipeBudget(maxSpliceSize), want: maxSpliceSize, used: maxSpliceSize - defaultPipeSize()},
		{name: "budget too small", n: 256 << 20, budget: NewPipeBudget(512 << 10), want: defaultPipeSize()},
		{name: "no budget", n: 256 << 20, want: defaultPipeSize()},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p pipeSplicer
			if err := p.open(c.n, c.budget); err != nil {
				t.Fatal(err)
			}
			size, err := unix.FcntlInt(uintptr(p.pipe[0]), unix.F_GETPIPE_SZ, 0)
			used := c.budget.Used()
			p.close()
			if err != nil {
				t.Fatal(err)
			}
			if int64(size) != c.want || used != c.used {
				t.Errorf("pipe for %d bytes holds %d, budget used %d; want %d and %d", c.n, size, used, c.want, c.used)
			}
			if after := c.budget.Used(); after != 0 {
				t.Errorf("budget used %d after the pipe closed; want 0", after)
			}
			for _, fd := range p.pipe {
				if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
					t.Errorf("descriptor %d of the closed pipe: F_GETFD gave %v; want EBADF", fd, err)
				}
			}
		})
	}
}
