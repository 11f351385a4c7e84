package wire

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"testing"
	"time"

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
	n, handled, err := splice(outProxy, inProxy, size, true, nil, pipes)
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
			if _, handled, _ := splice(outProxy, wrappedConn{inProxy}, size, true, nil, nil); handled {
				t.Fatal("a source that does not name its connection was spliced from")
			}
			if _, handled, _ := splice(wrappedConn{outProxy}, inProxy, size, true, nil, nil); handled {
				t.Fatal("a destination that does not name its connection was spliced to")
			}
			src, dst, named := c.ends(inProxy, outProxy)
			n, handled, err := splice(dst, src, size, true, nil, nil)
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

// sockValue returns what get reads of c's socket.
func sockValue(t *testing.T, c *net.TCPConn, get func(fd int) (int, error)) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) { v, gerr = get(int(fd)) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

// lowatOf returns the SO_RCVLOWAT of c's socket.
func lowatOf(t *testing.T, c *net.TCPConn) int {
	return sockValue(t, c, func(fd int) (int, error) {
		return unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVLOWAT)
	})
}

// queued returns how many bytes wait to be read from c's socket.
func queued(t *testing.T, c *net.TCPConn) int {
	return sockValue(t, c, func(fd int) (int, error) { return unix.IoctlGetInt(fd, unix.SIOCINQ) })
}

// batchedRelay is a splice relay of a body of size bytes whose first fast bytes came at once:
// the batcher has set the mark of the source's socket (inProxy) by the time newBatchedRelay
// returns, having read those bytes at the destination (out).
type batchedRelay struct {
	in, inProxy, out *net.TCPConn
	src, got         []byte // the body, and what out has read of it
	progress         Progress
	done             <-chan spliceResult
}

// spliceResult is what splice returned.
type spliceResult struct {
	n   int64
	err error
}

// spliceAsync relays a body of size bytes from src to dst with splice, counting in p, in a
// goroutine of its own, and sends what splice returned on the channel it returns.
func spliceAsync(dst, src *net.TCPConn, size int64, p *Progress) <-chan spliceResult {
	done := make(chan spliceResult, 1)
	go func() {
		n, _, err := splice(dst, src, size, true, p, NewPipeBudget(maxSpliceSize))
		done <- spliceResult{n, err}
	}()
	return done
}

func newBatchedRelay(t *testing.T, fast, size int) *batchedRelay {
	in, inProxy := tcpPair(t)
	outProxy, out := tcpPair(t)
	r := &batchedRelay{in: in, inProxy: inProxy, out: out, src: make([]byte, size), got: make([]byte, size)}
	if _, err := io.ReadFull(randomStream(int64(size), 3), r.src); err != nil {
		t.Fatal(err)
	}
	// Room for the fast part from the start: a new connection's window holds about 128 KiB until
	// the kernel's tuning grows it.
	if err := inProxy.SetReadBuffer(4 * fast); err != nil {
		t.Fatal(err)
	}
	written := make(chan error, 1)
	go func() { _, err := in.Write(r.src[:fast]); written <- err }()
	// The relay starts once the whole fast part has queued: its first splice moves a batch or
	// more, and it drains the rest before it first waits. Started earlier, it could wait with the
	// mark set while the last of the fast part, less than a batch, was still on its way, and that
	// tail would wait for a Hurry that no one here calls.
	for deadline := time.Now().Add(waitTimeout); queued(t, inProxy) < fast; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the source queued %d bytes; want %d", queued(t, inProxy), fast)
		}
	}
	r.done = spliceAsync(outProxy, inProxy, int64(size), &r.progress)
	out.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := io.ReadFull(out, r.got[:fast]); err != nil {
		t.Fatalf("reading the fast part: %v", err)
	}
	if err := receive(t, written, "the fast part's write"); err != nil {
		t.Fatal(err)
	}
	// The relay's last splice set the mark before it pumped what out has now read.
	if got := lowatOf(t, inProxy); got != batchSize {
		t.Fatalf("SO_RCVLOWAT after a fast source's batch = %d, want %d", got, batchSize)
	}
	// What the caller sends next must find the relay waiting for the mark, not on its way back to
	// its read, which takes whatever has come.
	for deadline := time.Now().Add(waitTimeout); !relayWaits(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the relay does not wait for its source after the fast part")
		}
	}
	return r
}

// relayWaits reports whether the goroutine of spliceAsync is parked in the runtime's poller in a
// read of its source: the relay waits for the source to be readable, which the mark decides.
func relayWaits() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("[IO wait")) && bytes.Contains(g, []byte(".RawRead(")) &&
			bytes.Contains(g, []byte("wire.spliceAsync.func1(")) {
			return true
		}
	}
	return false
}

// TestSpliceBatches checks the batcher on a spliced body of known length: a source that has
// queued batchSize or more makes the relay's waits end only at batchSize bytes; bytes that come
// short of it wait, until Progress.Hurry makes the relay take them, which ends the batching; a
// source that sends little at a time is relayed as it comes, never batched; and the socket has the
// kernel's default mark back once the relay returns, for what is read from it next.
func TestSpliceBatches(t *testing.T) {
	const fast, pause, size = 1 << 20, 1000, 2 << 20
	r := newBatchedRelay(t, fast, size)
	in, out, got := r.in, r.out, r.got
	if _, err := in.Write(r.src[fast : fast+pause]); err != nil {
		t.Fatal(err)
	}
	out.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := io.ReadFull(out, got[fast:fast+pause]); err == nil || n != 0 {
		t.Fatalf("%d bytes short of the mark were relayed before Hurry (%v)", n, err)
	}
	r.progress.Hurry()
	out.SetReadDeadline(time.Now().Add(waitTimeout))
	if _, err := io.ReadFull(out, got[fast:fast+pause]); err != nil {
		t.Fatalf("reading what came before the pause, after Hurry: %v", err)
	}
	if got := lowatOf(t, r.inProxy); got != 1 {
		t.Fatalf("SO_RCVLOWAT after Hurry = %d, want 1: the batching ends", got)
	}
	// Little at a time now: each piece must be relayed before the next is sent.
	for off := fast + pause; off < size; {
		end := min(off+4096, size)
		if _, err := in.Write(r.src[off:end]); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(out, got[off:end]); err != nil {
			t.Fatalf("reading the slow part at %d: %v", off, err)
		}
		off = end
	}
	res := receive(t, r.done, "the relay's end")
	if res.err != nil || res.n != size {
		t.Fatalf("splice = %d, %v; want %d", res.n, res.err, size)
	}
	if !bytes.Equal(got, r.src) {
		t.Error("relayed bytes differ from the source")
	}
	if got := lowatOf(t, r.inProxy); got != 1 {
		t.Errorf("SO_RCVLOWAT after the relay = %d, want 1", got)
	}
}

// TestSpliceBatchEndsOnError checks that a batched relay that fails gives the source's socket
// the kernel's default mark back all the same.
func TestSpliceBatchEndsOnError(t *testing.T) {
	const fast, size = 1 << 20, 4 << 20
	r := newBatchedRelay(t, fast, size)
	r.out.Close()
	// The rest, which the relay cannot write to the closed destination.
	go r.in.Write(r.src[fast:])
	res := receive(t, r.done, "the relay's end")
	if _, ok := res.err.(*WriteError); !ok {
		t.Fatalf("splice = %d, %v; want a *WriteError", res.n, res.err)
	}
	if got := lowatOf(t, r.inProxy); got != 1 {
		t.Errorf("SO_RCVLOWAT after the failed relay = %d, want 1", got)
	}
}

// TestSpliceBatchesAnySender relays bodies whose sender writes pieces of random sizes, now and then
// waiting until everything sent so far has arrived (a pause that the batching must not keep
// waiting), while a watcher calls Hurry whenever the relay moved nothing since its previous look,
// as the engine's sweeper does. Every body must arrive whole and intact, and the source's socket
// have the default mark back.
func TestSpliceBatchesAnySender(t *testing.T) {
	const size = 8 << 20
	for seed := range uint64(16) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			in, inProxy := tcpPair(t)
			outProxy, out := tcpPair(t)
			if err := inProxy.SetReadBuffer(4 << 20); err != nil {
				t.Fatal(err)
			}
			src := make([]byte, size)
			if _, err := io.ReadFull(randomStream(size, byte(seed)), src); err != nil {
				t.Fatal(err)
			}
			var p Progress
			done := spliceAsync(outProxy, inProxy, size, &p)
			stop := make(chan struct{})
			defer close(stop)
			go func() { // the watcher
				tick := time.NewTicker(time.Millisecond)
				defer tick.Stop()
				last := int64(-1)
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if m := p.Moved(); m == last {
							p.Hurry()
						} else {
							last = m
						}
					}
				}
			}()
			arrived := make(chan int64, 1) // how far the receiver has read, after each read
			received := make(chan error, 1)
			got := make([]byte, size)
			go func() {
				var n int64
				var err error
				out.SetReadDeadline(time.Now().Add(waitTimeout))
				for n < size && err == nil {
					var m int
					m, err = out.Read(got[n:])
					n += int64(m)
					select {
					case <-arrived:
					default:
					}
					arrived <- n
				}
				received <- err
			}()
			for off := 0; off < size; {
				end := min(off+1+rng.IntN(1<<20), size)
				if _, err := in.Write(src[off:end]); err != nil {
					t.Fatal(err)
				}
				off = end
				if rng.IntN(4) == 0 { // a pause: nothing more until all of it has arrived
					for deadline := time.After(waitTimeout); ; {
						var n int64
						select {
						case n = <-arrived:
						case <-deadline:
							t.Fatalf("%d bytes sent never all arrived", off)
						}
						if n >= int64(off) {
							break
						}
					}
				}
			}
			res := receive(t, done, "the relay's end")
			if res.err != nil || res.n != size {
				t.Fatalf("splice = %d, %v; want %d", res.n, res.err, size)
			}
			if err := receive(t, received, "the receiver's end"); err != nil {
				t.Fatalf("receiving: %v", err)
			}
			if !bytes.Equal(got, src) {
				t.Error("relayed bytes differ from the source")
			}
			if got := lowatOf(t, inProxy); got != 1 {
				t.Errorf("SO_RCVLOWAT after the relay = %d, want 1", got)
			}
		})
	}
}
