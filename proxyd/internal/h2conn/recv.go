package h2conn

import (
	"math"

	"proxyd.dev/proxyd/internal/bufpool"
)

// InitialWindow is a flow-control window's size before SETTINGS or WINDOW_UPDATE change it
// (RFC 9113 §6.9.2).
const InitialWindow = 65535

// MaxWindow is the largest a send window may grow: beyond it, a flow-control error (RFC 9113
// §6.9.1, §6.9.2).
const MaxWindow = 1<<31 - 1

// Window is one flow-control window proxyd gives its peer (RFC 9113 §6.9): what the peer may still
// send, and the bytes taken off it that are not given back yet. It gives them back in one
// WINDOW_UPDATE once half the window is waiting. Not safe for concurrent use: its owner guards it.
type Window struct {
	size    int64 // the window's full size
	avail   int64 // what the peer may still send
	unacked int64 // bytes consumed and not yet given back
}

// NewWindow returns a window of size bytes, all available.
func NewWindow(size int64) Window { return Window{size: size, avail: size} }

// Size returns the window's full size.
func (w *Window) Size() int64 { return w.size }

// Grow makes the window n bytes larger, and returns the increment of the WINDOW_UPDATE that gives
// the peer the room.
func (w *Window) Grow(n int64) uint32 {
	w.size += n
	w.avail += n
	return uint32(n)
}

// Take takes n bytes the peer sent; false when they exceed the window, a flow-control error.
func (w *Window) Take(n int) bool {
	w.avail -= int64(n)
	return w.avail >= 0
}

// Consumed records n bytes consumed (read, discarded or padding) and returns the increment of the
// WINDOW_UPDATE to send now, 0 while less than half the window waits.
func (w *Window) Consumed(n int) uint32 {
	w.unacked += int64(n)
	if w.unacked < w.size/2 {
		return 0
	}
	inc := min(w.unacked, math.MaxUint32>>1)
	w.unacked -= inc
	w.avail += inc
	return uint32(inc)
}

// RecvBuffer holds a stream's received body bytes until its reader takes them, in buffers of a
// bufpool.Pool: as many as the waiting bytes fill, each given back once read. So its memory follows
// the bytes that wait (at most the stream's window), not the bytes that passed, and a stream with
// nothing waiting holds no buffer. A few bytes that come to an empty RecvBuffer (up to smallFirst)
// take an array of their own size instead, so that a small body costs its size, not a pooled
// buffer. Not safe for concurrent use: its owner guards it.
type RecvBuffer struct {
	pool *bufpool.Pool
	// bufs are the buffers in use: the waiting bytes are bufs[0][off:], then all of the others'
	// bytes; only the last one has room left.
	bufs    [][]byte
	off     int
	waiting int
}

// keptBufs is how many buffers' room the list of an empty RecvBuffer keeps for the next bytes.
const keptBufs = 4

// smallFirst is the most bytes that, coming to an empty RecvBuffer, take an array of their own size
// rather than a pooled buffer: with 256 streams of small answers at once, pooled buffers took
// proxyd's peak RSS from 18 MiB to 26 MiB.
const smallFirst = 1 << 10

// NewRecvBuffer returns an empty buffer that takes its buffers from pool.
func NewRecvBuffer(pool *bufpool.Pool) RecvBuffer { return RecvBuffer{pool: pool} }

// Len returns how many bytes wait.
func (b *RecvBuffer) Len() int { return b.waiting }

// Append adds p, copied.
func (b *RecvBuffer) Append(p []byte) {
	b.waiting += len(p)
	for len(p) > 0 {
		last := len(b.bufs) - 1
		switch {
		case last < 0 && len(p) <= smallFirst:
			b.bufs = append(b.bufs, make([]byte, 0, len(p)))
			last++
		case last < 0 || len(b.bufs[last]) == cap(b.bufs[last]):
			b.bufs = append(b.bufs, b.pool.Get()[:0])
			last++
		}
		buf := b.bufs[last]
		n := copy(buf[len(buf):cap(buf)], p)
		b.bufs[last] = buf[:len(buf)+n]
		p = p[n:]
	}
}

// Read moves waiting bytes into p and returns how many.
func (b *RecvBuffer) Read(p []byte) int {
	n := 0
	for n < len(p) && len(b.bufs) > 0 {
		first := b.bufs[0]
		k := copy(p[n:], first[b.off:])
		n += k
		if b.off += k; b.off == len(first) {
			b.dropFirst()
		}
	}
	b.waiting -= n
	return n
}

// dropFirst gives the first buffer back to the pool (which keeps only its own).
func (b *RecvBuffer) dropFirst() {
	b.pool.Put(b.bufs[0])
	last := copy(b.bufs, b.bufs[1:])
	b.bufs[last] = nil
	b.bufs, b.off = b.bufs[:last], 0
	if last == 0 && cap(b.bufs) > keptBufs {
		b.bufs = nil
	}
}

// Discard drops the waiting bytes and gives their buffers back, and returns how many bytes it
// dropped.
func (b *RecvBuffer) Discard() int {
	n := b.waiting
	for _, buf := range b.bufs {
		b.pool.Put(buf)
	}
	b.bufs, b.off, b.waiting = nil, 0, 0
	return n
}

// TakeData adds the data of a DATA frame of n bytes (padding included) to buf; the padding counts
// as consumed at once in the stream's and the connection's windows. It returns the increments of
// the WINDOW_UPDATE frames to send, for the stream and the connection (0: none).
func TakeData(buf *RecvBuffer, stream, conn *Window, n int, data []byte) (inc, connInc uint32) {
	buf.Append(data)
	if pad := n - len(data); pad > 0 {
		return stream.Consumed(pad), conn.Consumed(pad)
	}
	return 0, 0
}

// ReadData moves waiting bytes of buf into p, counting them consumed in the connection's window
// and, while the peer may still send on the stream (open), in the stream's. It returns how many
// bytes, and the increments of the WINDOW_UPDATE frames to send (0: none).
func ReadData(buf *RecvBuffer, stream, conn *Window, p []byte, open bool) (n int, inc, connInc uint32) {
	n = buf.Read(p)
	if open {
		inc = stream.Consumed(n)
	}
	return n, inc, conn.Consumed(n)
}

// Reserve takes up to n bytes from a stream's send window and its connection's, within the peer's
// frame size (RFC 9113 §6.9.1), and returns how many; 0 while either window is empty. Its caller
// guards the windows.
func Reserve(n int, stream, conn *int64, maxFrame uint32) int {
	k := min(int64(n), *stream, *conn, int64(maxFrame))
	if k <= 0 {
		return 0
	}
	*stream -= k
	*conn -= k
	return int(k)
}
