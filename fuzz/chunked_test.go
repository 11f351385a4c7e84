package fuzz

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http/httputil"
	"net/textproto"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"proxyd.dev/wire"
)

// Reader buffer sizes FuzzChunked relays with: the fuzzed size is taken into this range, so that
// both lines longer than the buffer and chunk data relayed straight from the source are reached.
const (
	minChunkBuffer = 16   // smallest buffer: 16 bytes
	maxChunkBuffer = 8192 // largest buffer: 8 KiB, twice wire.MaxChunkLineSize
)

// maxTruncations bounds how many truncations of an accepted body FuzzChunked relays again: 64.
// Bodies up to that length have every truncation checked.
const maxTruncations = 64

// netHTTPMaxChunkOverhead is how many bytes of chunk lines beyond its data a chunked body may have
// before net/http's chunked reader refuses it ("too much non-data", a defence against bodies slow to
// decode): 16 KiB. Bodies with more bytes besides their payload are not compared with net/http.
const netHTTPMaxChunkOverhead = 16 << 10

// chunkedSeed is a seed of the chunked targets: a body and the buffer size it is read through
// (the bufSize argument, taken into range by chunkBufferSize).
type chunkedSeed struct {
	body    string
	bufSize uint16
}

// chunkedSeeds are the seeds FuzzChunked and FuzzChunkedReader start from.
func chunkedSeeds() []chunkedSeed {
	var seeds []chunkedSeed
	for _, s := range []string{
		// One chunk and the last chunk: the smallest body with data.
		"5\r\nhello\r\n0\r\n\r\n",
		// The empty body: only the last chunk.
		"0\r\n\r\n",
		// Several chunks, hex sizes in both cases, and leading zeros.
		"3\r\nabc\r\nA\r\n0123456789\r\n00a\r\n0123456789\r\n000\r\n\r\n",
		// Chunk extensions, with a quoted value and HTAB, on data and last chunks.
		"4;name=value\r\nwiki\r\n5;a=\"b c\";\td\r\npedia\r\n0;last\r\n\r\n",
		// Trailer fields after the last chunk, as gRPC sends them.
		"5\r\nhello\r\n0\r\ngrpc-status: 0\r\ngrpc-message: OK\r\n\r\n",
		// Bytes of the next message after the body stay unread.
		"1\r\nx\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n",
		// Chunk data with CR LF and NUL bytes inside: data is opaque.
		"6\r\n\r\n\x00\r\n\x00\r\n0\r\n\r\n",
		// An SSE stream of two events in two chunks.
		"e\r\ndata: event 1\n\n\r\ne\r\ndata: event 2\n\n\r\n0\r\n\r\n",
		// Malformed sizes: hex prefix, sign, space, empty, overflowing, 17 digits.
		"0x5\r\nhello\r\n0\r\n\r\n",
		"+5\r\nhello\r\n0\r\n\r\n",
		"5 \r\nhello\r\n0\r\n\r\n",
		"\r\nhello\r\n0\r\n\r\n",
		"8000000000000000\r\n",
		"00000000000000005\r\nhello\r\n0\r\n\r\n",
		// Bare LF and bare CR line ends.
		"5\nhello\n0\n\n",
		"5\rhello\r\n0\r\n\r\n",
		// Chunk data longer than its size says, and a missing CRLF after data.
		"3\r\nhello\r\n0\r\n\r\n",
		"5\r\nhelloX0\r\n\r\n",
		// Obs-fold and a control byte in the trailer section.
		"0\r\nX: a\r\n b\r\n\r\n",
		"0\r\nX: a\x01\r\n\r\n",
		// A truncated body: the source ends inside the data.
		"a\r\nhel",
	} {
		seeds = append(seeds, chunkedSeed{s, 4096})
	}
	return append(seeds,
		// A large chunk with a small buffer: the data goes straight from the source.
		chunkedSeed{"40\r\n" + strings.Repeat("0123456789abcdef", 4) + "\r\n0\r\n\r\n", 0},
		// A size line longer than a small buffer.
		chunkedSeed{"1;" + strings.Repeat("e", 40) + "\r\nx\r\n0\r\n\r\n", 8},
	)
}

// chunkBufferSize takes a fuzzed buffer size into minChunkBuffer to maxChunkBuffer.
func chunkBufferSize(bufSize uint16) int {
	return minChunkBuffer + int(bufSize)%(maxChunkBuffer-minChunkBuffer+1)
}

// FuzzChunked checks wire.CopyChunked on arbitrary bytes, read through a wire.Reader with a fuzzed
// buffer size: it never panics; it writes only a prefix of its input; its errors are a *wire.Error
// with status 400 or a *wire.ReadError. When it succeeds, what it wrote is exactly the input it
// consumed; a plain decoder of the RFC 9112 grammar (chunkedReference) finds a body of that length;
// net/http/httputil's chunked reader decodes the same bytes to the same payload, with net/textproto
// reading the trailer section to its end (bodies within netHTTPMaxChunkOverhead); and every truncation of the body fails with a
// *wire.ReadError for the unexpected end. With a buffer that holds every line, the reference
// accepts nothing CopyChunked rejects.
func FuzzChunked(f *testing.F) {
	for _, s := range chunkedSeeds() {
		f.Add([]byte(s.body), s.bufSize)
	}
	f.Fuzz(checkChunked)
}

// checkChunked is FuzzChunked's check of one input.
func checkChunked(t *testing.T, body []byte, bufSize uint16) {
	size := chunkBufferSize(bufSize)
	buf := make([]byte, size)
	out, consumed, err := copyChunked(t, body, buf)
	if !bytes.HasPrefix(body, out) {
		t.Fatalf("CopyChunked of %q wrote %q, not a prefix of its input", body, out)
	}
	payload, n, refOK := chunkedReference(body)
	if err != nil {
		checkChunkedError(t, body, err)
		if refOK && size >= wire.MaxChunkLineSize {
			t.Fatalf("CopyChunked rejects %q, a valid body of %d bytes: %v", body, n, err)
		}
		return
	}
	if !bytes.Equal(out, body[:consumed]) {
		t.Fatalf("CopyChunked of %q consumed %d bytes but wrote %q", body, consumed, out)
	}
	if !refOK || n != consumed {
		t.Fatalf("CopyChunked accepts %d bytes of %q; the reference: ok %v, %d bytes", consumed, body, refOK, n)
	}
	if len(out)-len(payload) <= netHTTPMaxChunkOverhead {
		checkNetHTTPChunked(t, out, payload)
	}
	for k := range properPrefixes(len(out), maxTruncations) {
		var re *wire.ReadError
		if _, _, err := copyChunked(t, out[:k], buf); !errors.As(err, &re) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("truncation %q of the body %q: got %v, want a *wire.ReadError for the unexpected end", out[:k], out, err)
		}
	}
}

// copyChunked relays the chunked body at the start of body with wire.CopyChunked through a
// wire.Reader with the buffer buf, and returns what it wrote, how many input bytes it consumed and
// its error. It fails t when the count CopyChunked returns is not what it wrote.
func copyChunked(t *testing.T, body, buf []byte) (out []byte, consumed int, err error) {
	t.Helper()
	return relayChunked(t, wire.CopyChunked, body, buf)
}

// relayChunked is copyChunked with the relay relay: wire.CopyChunked or wire.CopyDechunked.
func relayChunked(t *testing.T, relay func(io.Writer, *wire.Reader) (int64, error), body, buf []byte) (out []byte, consumed int, err error) {
	t.Helper()
	src := bytes.NewReader(body)
	r := wire.NewReader(src)
	r.Attach(buf)
	var dst bytes.Buffer
	n, err := relay(&dst, r)
	if n != int64(dst.Len()) {
		t.Fatalf("relay of %q returned %d but wrote %d bytes", body, n, dst.Len())
	}
	return dst.Bytes(), len(body) - src.Len() - len(r.Buffered()), err
}

// checkChunkedError fails t unless err, returned by CopyChunked for body, is a *wire.Error with
// status 400 or a *wire.ReadError.
func checkChunkedError(t *testing.T, body []byte, err error) {
	t.Helper()
	var e *wire.Error
	var re *wire.ReadError
	switch {
	case errors.As(err, &re):
	case !errors.As(err, &e):
		t.Fatalf("CopyChunked of %q: error %v (%T) is neither *wire.Error nor *wire.ReadError", body, err, err)
	case e.Status != 400:
		t.Fatalf("CopyChunked of %q: error %v: status %d, want 400", body, e, e.Status)
	}
}

// checkNetHTTPChunked fails t unless net/http reads the chunked body exactly as wire does: its
// chunked reader decodes body to payload, and net/textproto reads the trailer section after the
// last chunk up to the end of body. It returns the trailer fields net/textproto read.
func checkNetHTTPChunked(t *testing.T, body, payload []byte) textproto.MIMEHeader {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(body))
	got, err := io.ReadAll(httputil.NewChunkedReader(br))
	if err != nil {
		t.Fatalf("net/http's chunked reader rejects the body %q wire accepts: %v", body, err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("body %q: net/http decodes the payload %q, the reference %q", body, got, payload)
	}
	trailer, err := textproto.NewReader(br).ReadMIMEHeader()
	if err != nil {
		t.Fatalf("body %q: net/textproto rejects the trailer section: %v", body, err)
	}
	if rest, _ := io.ReadAll(br); len(rest) > 0 {
		t.Fatalf("body %q: net/http's body ends %d bytes before wire's", body, len(rest))
	}
	return trailer
}

// FuzzChunkedReader checks wire.ChunkedReader against wire.CopyChunked on the same bytes, read
// through a wire.Reader with a fuzzed buffer size (as FuzzChunked does) and in reads of a fuzzed
// length (1 to 65536 bytes): it never panics; it fails exactly when CopyChunked fails, with an
// error alike (a *wire.Error with the same status, reason and offset, or a *wire.ReadError for the
// same cause), but for a trailer section over wire.MaxTrailerSize, which only it refuses. When it
// succeeds it consumed the bytes CopyChunked relayed, its data is the payload of the plain decoder
// of the grammar (chunkedReference), and its trailer fields are those net/textproto reads (bodies
// within netHTTPMaxChunkOverhead). wire.CopyDechunked, through a buffer of the same size, fails
// exactly when CopyChunked fails, with an error alike, trailer sections of any size included, and
// otherwise consumes the same bytes and writes the same payload.
func FuzzChunkedReader(f *testing.F) {
	for _, s := range chunkedSeeds() {
		f.Add([]byte(s.body), s.bufSize, uint16(16<<10))
		f.Add([]byte(s.body), s.bufSize, uint16(0)) // one byte at a time
	}
	f.Fuzz(checkChunkedReader)
}

// checkChunkedReader is FuzzChunkedReader's check of one input.
func checkChunkedReader(t *testing.T, body []byte, bufSize, readSize uint16) {
	size := chunkBufferSize(bufSize)
	out, consumed, copyErr := copyChunked(t, body, make([]byte, size))
	data, trailer, readConsumed, err := readChunked(body, make([]byte, size), 1+int(readSize))
	checkDechunked(t, body, size, consumed, copyErr)
	trailerTooLarge := func(err error) bool {
		var e *wire.Error
		return errors.As(err, &e) && e.Reason == "trailer section too large" && len(out) > wire.MaxTrailerSize
	}
	if failedAlike(t, "ChunkedReader", body, copyErr, err, trailerTooLarge) {
		return
	}
	if readConsumed != consumed {
		t.Fatalf("ChunkedReader consumed %d bytes of %q, CopyChunked %d", readConsumed, body, consumed)
	}
	payload, _, _ := chunkedReference(body)
	if !bytes.Equal(data, payload) {
		t.Fatalf("ChunkedReader decodes %q from %q, the reference %q", data, body, payload)
	}
	if len(out)-len(payload) <= netHTTPMaxChunkOverhead {
		want := checkNetHTTPChunked(t, out, payload)
		if diff := cmp.Diff(want, trailer, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("body %q: trailer fields (-net/textproto +ChunkedReader):\n%s", body, diff)
		}
	}
}

// checkDechunked relays body with wire.CopyDechunked through a buffer of size bytes and fails t
// unless it fails as CopyChunked did (copyErr), or, where CopyChunked took the body, consumes the
// same consumed bytes and writes the reference's payload.
func checkDechunked(t *testing.T, body []byte, size, consumed int, copyErr error) {
	t.Helper()
	data, n, err := relayChunked(t, wire.CopyDechunked, body, make([]byte, size))
	if failedAlike(t, "CopyDechunked", body, copyErr, err, nil) {
		return
	}
	if n != consumed {
		t.Fatalf("CopyDechunked consumed %d bytes of %q, CopyChunked %d", n, body, consumed)
	}
	if payload, _, _ := chunkedReference(body); !bytes.Equal(data, payload) {
		t.Fatalf("CopyDechunked writes %q from %q, the reference %q", data, body, payload)
	}
}

// readChunked decodes the chunked body at the start of body with a wire.ChunkedReader through a
// wire.Reader with the buffer buf, at most readLen bytes per Read, and returns the data, the
// trailer fields (names canonical, as net/textproto keeps them), how many input bytes it consumed
// and its error.
func readChunked(body, buf []byte, readLen int) (data []byte, trailer textproto.MIMEHeader, consumed int, err error) {
	src := bytes.NewReader(body)
	r := wire.NewReader(src)
	r.Attach(buf)
	cr := wire.NewChunkedReader(r)
	p := make([]byte, readLen)
	for {
		n, rerr := cr.Read(p)
		data = append(data, p[:n]...)
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return data, nil, 0, rerr
		}
	}
	trailer = textproto.MIMEHeader{}
	for it := cr.Trailer(); it.Next(); {
		trailer.Add(string(it.Name()), string(it.Value()))
	}
	return data, trailer, len(body) - src.Len() - len(r.Buffered()), nil
}

// failedAlike fails t unless the decoder named what failed on body (err) exactly when CopyChunked
// did (copyErr), with an error alike (checkSameChunkedError); allowed, unless nil, tells an error
// that only the decoder may return. It reports whether the decoder failed.
func failedAlike(t *testing.T, what string, body []byte, copyErr, err error, allowed func(error) bool) bool {
	t.Helper()
	switch {
	case copyErr != nil && err == nil:
		t.Fatalf("%s accepts %q, which CopyChunked rejects: %v", what, body, copyErr)
	case copyErr != nil:
		checkSameChunkedError(t, body, copyErr, err)
	case err != nil && (allowed == nil || !allowed(err)):
		t.Fatalf("%s rejects %q, which CopyChunked accepts: %v", what, body, err)
	}
	return err != nil
}

// checkSameChunkedError fails t unless err, ChunkedReader's or CopyDechunked's error for body, is
// the kind of error copyErr, CopyChunked's, is: a *wire.Error with the same status, reason and
// offset, or a *wire.ReadError for the unexpected end.
func checkSameChunkedError(t *testing.T, body []byte, copyErr, err error) {
	t.Helper()
	var ce, e *wire.Error
	if errors.As(copyErr, &ce) {
		if !errors.As(err, &e) || e.Status != ce.Status || e.Reason != ce.Reason || e.Offset != ce.Offset {
			t.Fatalf("body %q: the decoder fails with %v, CopyChunked with %v", body, err, copyErr)
		}
		return
	}
	var re *wire.ReadError
	if !errors.As(err, &re) || !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(copyErr, io.ErrUnexpectedEOF) {
		t.Fatalf("body %q: the decoder fails with %v, CopyChunked with %v", body, err, copyErr)
	}
}
