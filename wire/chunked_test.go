package wire

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func validChunkedBodies() []struct{ name, body string } {
	return []struct{ name, body string }{
		{"last chunk only", "0\r\n\r\n"},
		{"one chunk", "5\r\nhello\r\n0\r\n\r\n"},
		{"several chunks", "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n"},
		{"upper and lower hex", "A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n"},
		{"leading zeros", "0005\r\nhello\r\n000\r\n\r\n"},
		{"16 digits", "000000000000000a\r\n0123456789\r\n0000000000000000\r\n\r\n"},
		{"extensions", "5;name=value;flag\r\nhello\r\n0;last=\"yes \\\"q\\\"\"\r\n\r\n"},
		{"extension with tab and obs-text", "5;\tn=\xe9\r\nhello\r\n0\r\n\r\n"},
		{"trailers", "5\r\nhello\r\n0\r\ngrpc-status: 0\r\ngrpc-message: \r\nX-Tab:\ta\tb\r\n\r\n"},
		{"data holding CRLF and NUL", "6\r\n\r\n\x00\r\n\n\r\n0\r\n\r\n"},
		{"data longer than a small buffer", "40\r\n" + strings.Repeat("z", 64) + "\r\n0\r\n\r\n"},
		{"long extension", "1;" + strings.Repeat("x", MaxChunkLineSize-6) + "\r\na\r\n0\r\n\r\n"},
	}
}

// chunkedSources are the ways the tests of valid chunked bodies deliver them: how the source
// splits its reads, and the size of the Reader's buffer.
var chunkedSources = []struct {
	name    string
	wrap    func(io.Reader) io.Reader
	bufSize int
}{
	{"whole", func(r io.Reader) io.Reader { return r }, 8192},
	{"one byte reads", iotest.OneByteReader, 8192},
	{"half reads", iotest.HalfReader, 8192},
	{"data larger than the buffer", iotest.HalfReader, 48},
	{"data with the last read's EOF", iotest.DataErrReader, 48},
}

// forValidChunkedBodies runs check on every valid body from every source of chunkedSources, the
// bytes "NEXT" after the body, and then checks that check left them buffered in r.
func forValidChunkedBodies(t *testing.T, check func(t *testing.T, r *Reader, body string)) {
	for _, tc := range validChunkedBodies() {
		for _, rd := range chunkedSources {
			if longestLine(tc.body) > rd.bufSize {
				continue // a line must fit in the buffer
			}
			t.Run(tc.name+"/"+rd.name, func(t *testing.T) {
				r := newTestReader(t, rd.wrap(strings.NewReader(tc.body+"NEXT")), rd.bufSize, false)
				check(t, r, tc.body)
				if got := rest(t, r); got != "NEXT" {
					t.Errorf("after the body %q remains, want %q", got, "NEXT")
				}
			})
		}
	}
}

func TestCopyChunkedValid(t *testing.T) {
	forValidChunkedBodies(t, func(t *testing.T, r *Reader, body string) {
		var dst recorder
		n, err := CopyChunked(&dst, r)
		if err != nil || n != int64(len(body)) || dst.all() != body {
			t.Fatalf("CopyChunked = %d, %v; wrote %q, want %q", n, err, dst.all(), body)
		}
	})
}

// badChunkedBodies are chunked bodies every chunked parser of the package refuses with an *Error.
func badChunkedBodies() []struct{ name, body string } {
	return []struct{ name, body string }{
		{"empty size", "\r\nhello\r\n0\r\n\r\n"},
		{"non-hex size", "g\r\n"},
		{"negative size", "-1\r\n"},
		{"plus sign", "+1\r\na\r\n0\r\n\r\n"},
		{"0x prefix", "0x1\r\na\r\n0\r\n\r\n"},
		{"17 hex digits", "00000000000000001\r\na\r\n0\r\n\r\n"},
		{"overflowing size", "8000000000000000\r\n"},
		{"space after size", "5 \r\nhello\r\n0\r\n\r\n"},
		{"space before size", " 5\r\nhello\r\n0\r\n\r\n"},
		{"space before extension", "5 ;a\r\nhello\r\n0\r\n\r\n"},
		{"size then garbage", "5x\r\nhello\r\n0\r\n\r\n"},
		{"bare LF after size", "5\nhello\r\n0\r\n\r\n"},
		{"bare CR in size line", "5\r\rhello\r\n0\r\n\r\n"},
		{"NUL in extension", "5;a\x00\r\nhello\r\n0\r\n\r\n"},
		{"bare CR in extension", "5;a\rb\r\nhello\r\n0\r\n\r\n"},
		{"data too long", "5\r\nhello!\r\n0\r\n\r\n"},
		{"data without CRLF", "5\r\nhelloX\r\n0\r\n\r\n"},
		{"data with bare LF", "5\r\nhello\n0\r\n\r\n"},
		{"trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n"},
		{"trailer without colon", "0\r\nX\r\n\r\n"},
		{"trailer space before colon", "0\r\nX : a\r\n\r\n"},
		{"trailer control byte", "0\r\nX: \x01\r\n\r\n"},
		{"trailer bare LF", "0\r\nX: a\n\r\n"},
		{"final line bare LF", "0\r\n\n"},
		{"final line bare CR", "0\r\n\r\r\n"},
		{"size line too long", "1;" + strings.Repeat("x", MaxChunkLineSize) + "\r\na\r\n0\r\n\r\n"},
		{"size line without end", "1;" + strings.Repeat("x", 2*MaxChunkLineSize)},
	}
}

func TestCopyChunkedBad(t *testing.T) {
	for _, tc := range badChunkedBodies() {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestReader(t, iotest.HalfReader(strings.NewReader(tc.body)), 2*MaxChunkLineSize, false)
			var dst recorder
			_, err := CopyChunked(&dst, r)
			if e := asError(t, err); e.Status != 400 || !strings.Contains(e.Error(), "byte") {
				t.Errorf("CopyChunked(%q) = %v, want an *Error with Status 400", tc.body, e)
			}
		})
	}
}

func TestCopyChunkedLineLongerThanBuffer(t *testing.T) {
	r := newTestReader(t, strings.NewReader("1;"+strings.Repeat("x", 100)+"\r\na\r\n0\r\n\r\n"), 64, false)
	if e := asError(t, func() error { _, err := CopyChunked(io.Discard, r); return err }()); e.Status != 400 {
		t.Errorf("CopyChunked = %v, want an *Error with Status 400", e)
	}
}

func TestCopyChunkedErrorOffset(t *testing.T) {
	body := "5\r\nhello\r\n3\r\nabc\r\n1x\r\n"
	r := newTestReader(t, iotest.OneByteReader(strings.NewReader(body)), 64, false)
	var dst recorder
	_, err := CopyChunked(&dst, r)
	if e := asError(t, err); e.Offset != strings.Index(body, "x") {
		t.Errorf("error %v at offset %d, want %d", e, e.Offset, strings.Index(body, "x"))
	}
	if want := "5\r\nhello\r\n3\r\nabc\r\n"; dst.all() != want {
		t.Errorf("before the error, wrote %q, want %q", dst.all(), want)
	}
}

// TestCopyChunkedOneWrite checks that chunks buffered together are written in one Write.
func TestCopyChunkedOneWrite(t *testing.T) {
	var body strings.Builder
	for i := range 100 {
		fmt.Fprintf(&body, "%x;i=%d\r\n%s\r\n", i%16+1, i, strings.Repeat("d", i%16+1))
	}
	body.WriteString("0\r\nT: v\r\n\r\n")
	r := newTestReader(t, strings.NewReader(body.String()), 8192, true)
	var dst recorder
	if _, err := CopyChunked(&dst, r); err != nil {
		t.Fatal(err)
	}
	if len(dst.writes) != 1 || dst.writes[0] != body.String() {
		t.Errorf("wrote %d times (%q), want the whole body in one Write", len(dst.writes), dst.writes)
	}
}

// TestCopyChunkedStreams checks that each chunk is written before the next is read.
func TestCopyChunkedStreams(t *testing.T) {
	checkStreams(t, CopyChunked, []string{"8\r\ndata: 1\n\r\n", "8\r\ndata: 2\n\r\n", "0\r\n\r\n"}, false)
}

// TestCopyChunkedHugeChunkTCP relays one 8 MiB chunk between TCP connections: its data goes
// from socket to socket (spliced on Linux) and must arrive intact.
func TestCopyChunkedHugeChunkTCP(t *testing.T) {
	const size = 8 << 20
	head := fmt.Sprintf("%x;big\r\n", size)
	tail := "\r\n0\r\nDigest: x\r\n\r\n"
	in, inProxy := tcpPair(t)
	outProxy, out := tcpPair(t)
	go func() {
		io.Copy(in, io.MultiReader(strings.NewReader(head), randomStream(size, 5), strings.NewReader(tail+"NEXT")))
		in.CloseWrite()
	}()
	type result struct {
		head, tail string
		sum        [32]byte
		err        error
	}
	results := make(chan result, 1)
	go func() {
		var res result
		h := make([]byte, len(head))
		if _, res.err = io.ReadFull(out, h); res.err == nil {
			if res.sum, res.err = sumOf(out, size); res.err == nil {
				tl := make([]byte, len(tail))
				_, res.err = io.ReadFull(out, tl)
				res.tail = string(tl)
			}
		}
		res.head = string(h)
		results <- res
	}()
	r := newTestReader(t, inProxy, 16<<10, false)
	n, err := CopyChunked(outProxy, r)
	if want := int64(len(head) + size + len(tail)); err != nil || n != want {
		t.Fatalf("CopyChunked = %d, %v; want %d", n, err, want)
	}
	res := receive(t, results, "the receiver")
	if res.err != nil || res.head != head || res.tail != tail || res.sum != streamSum(t, size, 5) {
		t.Errorf("relayed body differs: err %v, head %q, tail %q", res.err, res.head, res.tail)
	}
	if got := rest(t, r); got != "NEXT" {
		t.Errorf("after the body %q remains, want %q", got, "NEXT")
	}
}

func TestCopyChunkedNotAnError(t *testing.T) {
	// A valid body must not produce an error that looks like a read or write failure.
	r := newTestReader(t, strings.NewReader("0\r\n\r\n"), 64, false)
	_, err := CopyChunked(io.Discard, r)
	var re *ReadError
	if err != nil || errors.As(err, &re) {
		t.Errorf("CopyChunked = %v, want nil", err)
	}
}

// longestLine returns the length of the longest LF-terminated line in s.
func longestLine(s string) int {
	n := 0
	for line := range strings.Lines(s) {
		n = max(n, len(line))
	}
	return n
}
