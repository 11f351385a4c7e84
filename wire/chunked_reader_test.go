package wire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http/httputil"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// decodeChunked reads the whole body of cr, and its trailer fields, failing t on an error.
func decodeChunked(t *testing.T, cr *ChunkedReader) (payload string, trailer [][2]string) {
	t.Helper()
	data, err := io.ReadAll(cr)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	for it := cr.Trailer(); it.Next(); {
		trailer = append(trailer, [2]string{string(it.Name()), string(it.Value())})
	}
	return string(data), trailer
}

// netHTTPPayload is the payload net/http's chunked reader decodes from body.
func netHTTPPayload(t *testing.T, body string) string {
	t.Helper()
	data, err := io.ReadAll(httputil.NewChunkedReader(bufio.NewReader(strings.NewReader(body))))
	if err != nil {
		t.Fatalf("net/http cannot decode %q: %v", body, err)
	}
	return string(data)
}

func TestChunkedReaderValid(t *testing.T) {
	forValidChunkedBodies(t, func(t *testing.T, r *Reader, body string) {
		got, _ := decodeChunked(t, NewChunkedReader(r))
		if want := netHTTPPayload(t, body); got != want {
			t.Errorf("decoded %q, want %q", got, want)
		}
	})
}

// TestDecodersBad checks that ChunkedReader and CopyDechunked refuse what CopyChunked refuses, with
// the same *Error at the same offset, and that ChunkedReader's Read returns it again.
func TestDecodersBad(t *testing.T) {
	for _, tc := range badChunkedBodies() {
		t.Run(tc.name, func(t *testing.T) {
			src := func() *Reader {
				return newTestReader(t, iotest.HalfReader(strings.NewReader(tc.body)), 2*MaxChunkLineSize, false)
			}
			_, copyErr := CopyChunked(io.Discard, src())
			cr := NewChunkedReader(src())
			_, err := io.ReadAll(cr)
			_, dechunkErr := CopyDechunked(io.Discard, src())
			for name, err := range map[string]error{"ChunkedReader": err, "CopyDechunked": dechunkErr} {
				if diff := cmp.Diff(asError(t, copyErr), asError(t, err)); diff != "" {
					t.Errorf("%s's error differs from CopyChunked's (-CopyChunked +%s):\n%s", name, name, diff)
				}
			}
			if _, again := cr.Read(make([]byte, 8)); again != err {
				t.Errorf("Read after the error: %v, want %v again", again, err)
			}
		})
	}
}

func TestChunkedReaderTrailer(t *testing.T) {
	body := "5\r\nhello\r\n0;end\r\ngrpc-status: 0\r\ngrpc-message: \r\nX-Tab:\ta\tb \r\n\r\n"
	cr := NewChunkedReader(newTestReader(t, iotest.OneByteReader(strings.NewReader(body)), 64, false))
	if it := cr.Trailer(); it.Next() {
		t.Errorf("before the end of the body, Trailer has the field %q", it.Name())
	}
	payload, trailer := decodeChunked(t, cr)
	want := [][2]string{{"grpc-status", "0"}, {"grpc-message", ""}, {"X-Tab", "a\tb"}}
	if diff := cmp.Diff(want, trailer); diff != "" || payload != "hello" {
		t.Errorf("payload %q; trailer fields (-want +got):\n%s", payload, diff)
	}
	if n, err := cr.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Errorf("Read after the end: %d, %v; want 0, EOF", n, err)
	}
}

// TestChunkedReaderTrailerLimit keeps a trailer section of MaxTrailerSize bytes and refuses one
// with a field more.
func TestChunkedReaderTrailerLimit(t *testing.T) {
	const line = "X-Padding: " // each field line is MaxChunkLineSize bytes with its CRLF
	field := line + strings.Repeat("p", MaxChunkLineSize-len(line)-2) + "\r\n"
	fits := strings.Repeat(field, MaxTrailerSize/MaxChunkLineSize)
	for _, tc := range []struct {
		name    string
		trailer string
		ok      bool
	}{
		{"at the limit", fits, true},
		{"a field more", fits + "Y:\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := "1\r\nx\r\n0\r\n" + tc.trailer + "\r\n"
			cr := NewChunkedReader(newTestReader(t, strings.NewReader(body), 2*MaxChunkLineSize, false))
			_, err := io.ReadAll(cr)
			if tc.ok {
				if err != nil {
					t.Fatalf("a trailer section of %d bytes: %v", len(tc.trailer), err)
				}
				n := 0
				for it := cr.Trailer(); it.Next(); {
					n++
				}
				if n != MaxTrailerSize/MaxChunkLineSize {
					t.Errorf("kept %d trailer fields, want %d", n, MaxTrailerSize/MaxChunkLineSize)
				}
				return
			}
			if e := asError(t, err); e.Status != 400 || e.Reason != "trailer section too large" {
				t.Errorf("a trailer section of %d bytes: %v, want the limit's *Error", len(tc.trailer), e)
			}
		})
	}
}

// TestChunkedReaderTruncated reports every early end of the source as io.ErrUnexpectedEOF.
func TestChunkedReaderTruncated(t *testing.T) {
	body := "5;x\r\nhello\r\n3\r\nabc\r\n0\r\nT: v\r\n\r\n"
	for n := range len(body) {
		r := newTestReader(t, strings.NewReader(body[:n]), 64, false)
		_, err := io.ReadAll(NewChunkedReader(r))
		var re *ReadError
		if !errors.As(err, &re) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("body cut to %q: %v, want a *ReadError for the unexpected end", body[:n], err)
		}
	}
}

// TestChunkedReaderSourceFails reports a failing source as a *ReadError wrapping its error.
func TestChunkedReaderSourceFails(t *testing.T) {
	broken := errors.New("connection reset")
	for _, bufSize := range []int{64, 16} { // the data is read through the buffer, or past it
		src := io.MultiReader(strings.NewReader("40\r\n0123"), iotest.ErrReader(broken))
		_, err := io.ReadAll(NewChunkedReader(newTestReader(t, src, bufSize, false)))
		var re *ReadError
		if !errors.As(err, &re) || !errors.Is(err, broken) {
			t.Errorf("buffer of %d bytes: %v, want a *ReadError wrapping %v", bufSize, err, broken)
		}
	}
}

// TestChunkedReaderStreams returns each chunk's data before the next chunk is sent.
func TestChunkedReaderStreams(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	r := NewReader(pr)
	r.Attach(make([]byte, 4096))
	cr := NewChunkedReader(r)
	buf := make([]byte, 64)
	for i := range 3 {
		event := fmt.Sprintf("data: %d\n\n", i)
		go fmt.Fprintf(pw, "%x\r\n%s\r\n", len(event), event)
		n, err := cr.Read(buf)
		if err != nil || string(buf[:n]) != event {
			t.Fatalf("chunk %d: read %q, %v; want %q", i, buf[:n], err, event)
		}
	}
	go io.WriteString(pw, "0\r\n\r\n")
	if n, err := cr.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("after the last chunk: %d, %v; want 0, EOF", n, err)
	}
}

// TestChunkedReaderHugeChunkTCP decodes one 8 MiB chunk from a TCP connection through a 16 KiB
// buffer: the data, read past the buffer, arrives intact, and so does the trailer.
func TestChunkedReaderHugeChunkTCP(t *testing.T) {
	const size = 8 << 20
	in, inProxy := tcpPair(t)
	go func() {
		io.Copy(in, io.MultiReader(strings.NewReader(fmt.Sprintf("%x\r\n", size)), randomStream(size, 9), strings.NewReader("\r\n0\r\nDigest: x\r\n\r\nNEXT")))
		in.CloseWrite()
	}()
	r := newTestReader(t, inProxy, 16<<10, false)
	cr := NewChunkedReader(r)
	sum, err := sumOf(cr, size)
	if err != nil || sum != streamSum(t, size, 9) {
		t.Fatalf("decoded chunk: %v, or its data differs", err)
	}
	if _, trailer := decodeChunked(t, cr); !cmp.Equal(trailer, [][2]string{{"Digest", "x"}}) {
		t.Errorf("trailer %q, want Digest: x", trailer)
	}
	if got := rest(t, r); got != "NEXT" {
		t.Errorf("after the body %q remains, want %q", got, "NEXT")
	}
}

// TestCopyDechunkedValid writes the data of every valid body, as net/http decodes it, and nothing
// else.
func TestCopyDechunkedValid(t *testing.T) {
	forValidChunkedBodies(t, func(t *testing.T, r *Reader, body string) {
		var dst recorder
		n, err := CopyDechunked(&dst, r)
		if want := netHTTPPayload(t, body); err != nil || n != int64(len(want)) || dst.all() != want {
			t.Fatalf("CopyDechunked = %d, %v; wrote %q, want %q", n, err, dst.all(), want)
		}
	})
}

// TestCopyDechunkedLargeTrailer passes a trailer section larger than a ChunkedReader keeps.
func TestCopyDechunkedLargeTrailer(t *testing.T) {
	field := "X-Padding: " + strings.Repeat("p", 1000) + "\r\n"
	body := "1\r\nx\r\n0\r\n" + strings.Repeat(field, 2*MaxTrailerSize/len(field)) + "\r\n"
	var dst recorder
	if n, err := CopyDechunked(&dst, newTestReader(t, strings.NewReader(body), 4096, false)); err != nil || dst.all() != "x" {
		t.Errorf("CopyDechunked = %d, %v; wrote %q, want %q", n, err, dst.all(), "x")
	}
}

// TestCopyDechunkedTruncated reports every early end of the source as io.ErrUnexpectedEOF.
func TestCopyDechunkedTruncated(t *testing.T) {
	body := "5;x\r\nhello\r\n3\r\nabc\r\n0\r\nT: v\r\n\r\n"
	for n := range len(body) {
		r := newTestReader(t, strings.NewReader(body[:n]), 64, false)
		_, err := CopyDechunked(io.Discard, r)
		var re *ReadError
		if !errors.As(err, &re) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("body cut to %q: %v, want a *ReadError for the unexpected end", body[:n], err)
		}
	}
}

// TestCopyDechunkedStreams writes each chunk's data before the next chunk is read.
func TestCopyDechunkedStreams(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	written := make(chan string)
	dst := writeFunc(func(p []byte) (int, error) { written <- string(p); return len(p), nil })
	r := NewReader(pr)
	r.Attach(make([]byte, 4096))
	done := make(chan error, 1)
	go func() {
		_, err := CopyDechunked(dst, r)
		done <- err
	}()
	for i := range 3 {
		event := fmt.Sprintf("data: %d\n\n", i)
		go fmt.Fprintf(pw, "%x\r\n%s\r\n", len(event), event)
		if got := receive(t, written, "chunk "+event); got != event {
			t.Fatalf("chunk %d: wrote %q, want %q", i, got, event)
		}
	}
	go io.WriteString(pw, "0\r\n\r\n")
	if err := receive(t, done, "the copy to end"); err != nil {
		t.Fatal(err)
	}
}

// TestCopyDechunkedHugeChunkTCP relays the data of one 8 MiB chunk between TCP connections (from
// socket to socket, spliced on Linux): it arrives intact, without the framing around it.
func TestCopyDechunkedHugeChunkTCP(t *testing.T) {
	const size = 8 << 20
	in, inProxy := tcpPair(t)
	outProxy, out := tcpPair(t)
	go func() {
		io.Copy(in, io.MultiReader(strings.NewReader(fmt.Sprintf("%x;big\r\n", size)), randomStream(size, 7), strings.NewReader("\r\n3\r\nend\r\n0\r\nDigest: x\r\n\r\nNEXT")))
		in.CloseWrite()
	}()
	r := newTestReader(t, inProxy, 16<<10, false)
	copied := make(chan error, 1)
	go func() {
		n, err := CopyDechunked(outProxy, r)
		if err == nil && n != size+3 {
			err = fmt.Errorf("wrote %d bytes, want %d", n, size+3)
		}
		outProxy.Close()
		copied <- err
	}()
	sum, err := sumOf(out, size)
	if err != nil || sum != streamSum(t, size, 7) {
		t.Fatalf("relayed chunk: %v, or its data differs", err)
	}
	if end, err := io.ReadAll(out); err != nil || string(end) != "end" {
		t.Errorf("after the chunk: %q, %v; want %q", end, err, "end")
	}
	if err := receive(t, copied, "the copy to end"); err != nil {
		t.Fatal(err)
	}
	if got := rest(t, r); got != "NEXT" {
		t.Errorf("after the body %q remains, want %q", got, "NEXT")
	}
}
