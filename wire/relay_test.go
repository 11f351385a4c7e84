package wire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
)

// newTestReader returns a Reader over src with a buffer of size bytes, and size bytes already
// buffered from src when prefill is set.
func newTestReader(t testing.TB, src io.Reader, size int, prefill bool) *Reader {
	t.Helper()
	r := NewReader(src)
	r.Attach(make([]byte, size))
	if prefill {
		if _, err := r.Fill(); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// rest returns what r still holds: its buffered bytes and the rest of its source.
func rest(t testing.TB, r *Reader) string {
	t.Helper()
	tail, err := io.ReadAll(r.Source())
	if err != nil {
		t.Fatal(err)
	}
	return string(r.Buffered()) + string(tail)
}

func TestCopyLength(t *testing.T) {
	body := strings.Repeat("0123456789", 100)
	tests := []struct {
		name    string
		src     func() io.Reader
		bufSize int
		prefill bool
	}{
		{"all buffered", func() io.Reader { return strings.NewReader(body + "NEXT") }, 4096, true},
		{"partly buffered", func() io.Reader { return strings.NewReader(body + "NEXT") }, 64, true},
		{"nothing buffered", func() io.Reader { return strings.NewReader(body + "NEXT") }, 64, false},
		{"one byte reads", func() io.Reader { return iotest.OneByteReader(strings.NewReader(body + "NEXT")) }, 16, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestReader(t, tc.src(), tc.bufSize, tc.prefill)
			var dst bytes.Buffer
			n, err := CopyLength(&dst, r, int64(len(body)))
			if err != nil || n != int64(len(body)) || dst.String() != body {
				t.Fatalf("CopyLength = %d, %v; wrote %d bytes, want %d", n, err, dst.Len(), len(body))
			}
			if got := rest(t, r); got != "NEXT" {
				t.Errorf("after the body %q remains, want %q", got, "NEXT")
			}
		})
	}
}

func TestCopyErrors(t *testing.T) {
	errDst := errors.New("client gone")
	errSrc := errors.New("backend reset")
	failingDst := writeFunc(func([]byte) (int, error) { return 0, errDst })
	shortDst := writeFunc(func(p []byte) (int, error) { return len(p) / 2, nil })
	tests := []struct {
		name     string
		dst      io.Writer
		src      io.Reader
		copy     func(io.Writer, *Reader) (int64, error)
		wantRead bool // *ReadError, else *WriteError
		cause    error
	}{
		{"length truncated", io.Discard, strings.NewReader("abc"), lengthCopy(10), true, io.ErrUnexpectedEOF},
		{"length source fails", io.Discard, iotest.ErrReader(errSrc), lengthCopy(10), true, errSrc},
		{"length source fails after data", io.Discard, io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(errSrc)), lengthCopy(10), true, errSrc},
		{"length dst fails", failingDst, strings.NewReader("abcdefghij"), lengthCopy(10), false, errDst},
		{"length short write", shortDst, strings.NewReader("abcdefghij"), lengthCopy(10), false, io.ErrShortWrite},
		{"until EOF source fails", io.Discard, iotest.ErrReader(errSrc), CopyUntilEOF, true, errSrc},
		{"until EOF dst fails", failingDst, strings.NewReader("abc"), CopyUntilEOF, false, errDst},
		{"chunked truncated size", io.Discard, strings.NewReader("5"), CopyChunked, true, io.ErrUnexpectedEOF},
		{"chunked truncated data", io.Discard, strings.NewReader("5\r\nab"), CopyChunked, true, io.ErrUnexpectedEOF},
		{"chunked truncated trailer", io.Discard, strings.NewReader("0\r\nX: a\r\n"), CopyChunked, true, io.ErrUnexpectedEOF},
		{"chunked source fails", io.Discard, iotest.ErrReader(errSrc), CopyChunked, true, errSrc},
		{"chunked dst fails", failingDst, strings.NewReader("1\r\na\r\n0\r\n\r\n"), CopyChunked, false, errDst},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.copy(tc.dst, newTestReader(t, tc.src, 64, false))
			var re *ReadError
			var we *WriteError
			if isRead := errors.As(err, &re); isRead != tc.wantRead || !isRead && !errors.As(err, &we) {
				t.Fatalf("error %v (%T): want a *ReadError: %v, else a *WriteError", err, err, tc.wantRead)
			}
			if !errors.Is(err, tc.cause) {
				t.Errorf("error %v does not wrap %v", err, tc.cause)
			}
		})
	}
}

// lengthCopy returns CopyLength of n bytes as a function of dst and r.
func lengthCopy(n int64) func(io.Writer, *Reader) (int64, error) {
	return func(dst io.Writer, r *Reader) (int64, error) { return CopyLength(dst, r, n) }
}

func TestCopyUntilEOF(t *testing.T) {
	body := strings.Repeat("event: x\ndata: y\n\n", 50)
	for _, prefill := range []bool{false, true} {
		r := newTestReader(t, iotest.HalfReader(strings.NewReader(body)), 100, prefill)
		var dst bytes.Buffer
		if n, err := CopyUntilEOF(&dst, r); err != nil || n != int64(len(body)) || dst.String() != body {
			t.Errorf("prefill %v: CopyUntilEOF = %d, %v; wrote %q", prefill, n, err, dst.String())
		}
	}
}

func TestCopyBody(t *testing.T) {
	tests := []struct {
		framing Framing
		input   string
		want    string
	}{
		{Framing{}, "NEXT", ""},
		{Framing{BodyLength, 3}, "abcNEXT", "abc"},
		{Framing{Kind: BodyChunked}, "3\r\nabc\r\n0\r\n\r\nNEXT", "3\r\nabc\r\n0\r\n\r\n"},
		{Framing{Kind: BodyUntilClose}, "abcNEXT", "abcNEXT"},
	}
	for _, tc := range tests {
		r := newTestReader(t, strings.NewReader(tc.input), 64, true)
		var dst bytes.Buffer
		n, err := CopyBody(&dst, r, tc.framing)
		if err != nil || dst.String() != tc.want || n != int64(len(tc.want)) {
			t.Errorf("CopyBody(%v) = %d, %v, wrote %q; want %q", tc.framing.Kind, n, err, dst.String(), tc.want)
		}
		if got, want := rest(t, r), strings.TrimPrefix(tc.input, tc.want); got != want {
			t.Errorf("CopyBody(%v) left %q, want %q", tc.framing.Kind, got, want)
		}
	}
}

// TestCopyUntilEOFStreams checks that each piece of a stream is written before the next is read,
// as server-sent events need.
func TestCopyUntilEOFStreams(t *testing.T) {
	checkStreams(t, CopyUntilEOF, []string{"data: 1\n\n", "data: 2\n\n", "data: 3\n\n"}, true)
}

// TestCopyLengthTCP relays 64 MiB between TCP connections, with some bytes buffered beforehand
// and the next message's bytes behind the body.
func TestCopyLengthTCP(t *testing.T) {
	const size = 64 << 20
	in, inProxy := tcpPair(t)
	outProxy, out := tcpPair(t)
	go func() {
		io.Copy(in, io.MultiReader(randomStream(size, 1), strings.NewReader("NEXT")))
		in.CloseWrite()
	}()
	sums := make(chan [32]byte, 1)
	go func() {
		sum, _ := sumOf(out, size)
		sums <- sum
	}()
	r := newTestReader(t, inProxy, 16<<10, true)
	n, err := CopyLength(outProxy, r, size)
	if err != nil || n != size {
		t.Fatalf("CopyLength = %d, %v; want %d", n, err, size)
	}
	if receive(t, sums, "the receiver's checksum") != streamSum(t, size, 1) {
		t.Error("relayed bytes differ from the source")
	}
	if got := rest(t, r); got != "NEXT" {
		t.Errorf("after the body %q remains, want %q", got, "NEXT")
	}
}

func TestCopyTCPErrors(t *testing.T) {
	const size = 8 << 20
	t.Run("source ends early", func(t *testing.T) {
		in, inProxy := tcpPair(t)
		outProxy, out := tcpPair(t)
		go func() {
			io.Copy(in, randomStream(size/2, 3))
			in.Close()
		}()
		go io.Copy(io.Discard, out)
		n, err := CopyLength(outProxy, newTestReader(t, inProxy, 4096, false), size)
		var re *ReadError
		if !errors.As(err, &re) || !errors.Is(err, io.ErrUnexpectedEOF) || n != size/2 {
			t.Errorf("CopyLength = %d, %v; want %d, a *ReadError wrapping io.ErrUnexpectedEOF", n, err, size/2)
		}
	})
	t.Run("destination resets", func(t *testing.T) {
		in, inProxy := tcpPair(t)
		outProxy, out := tcpPair(t)
		go io.Copy(in, randomStream(size, 4))
		out.SetLinger(0)
		out.Close()
		_, err := CopyLength(outProxy, newTestReader(t, inProxy, 4096, false), size)
		inProxy.Close()
		var we *WriteError
		if !errors.As(err, &we) || !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			t.Errorf("CopyLength = %v; want a *WriteError wrapping ECONNRESET or EPIPE", err)
		}
	})
}

// TestCopyUntilEOFTCP relays a close-delimited body between TCP connections.
func TestCopyUntilEOFTCP(t *testing.T) {
	const size = 4 << 20
	in, inProxy := tcpPair(t)
	outProxy, out := tcpPair(t)
	go func() {
		io.Copy(in, randomStream(size, 6))
		in.Close()
	}()
	sums := make(chan [32]byte, 1)
	go func() {
		sum, _ := sumOf(out, size)
		sums <- sum
	}()
	n, err := CopyUntilEOF(outProxy, newTestReader(t, inProxy, 4096, true))
	if err != nil || n != size {
		t.Fatalf("CopyUntilEOF = %d, %v; want %d, nil", n, err, size)
	}
	if receive(t, sums, "the receiver's checksum") != streamSum(t, size, 6) {
		t.Error("relayed bytes differ from the source")
	}
}
