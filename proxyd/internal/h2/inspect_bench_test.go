package h2

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// BenchmarkInspection reads the frames of a client connection as x/net/http2's server does, from
// the connection directly and through inspectedConn. An op is one connection of benchRequests
// requests, each a HEADERS frame of browser-like fields (indexed after the first request, the
// path literal) and a DATA frame of 1 KiB; ns/request is the time per request.
func BenchmarkInspection(b *testing.B) {
	in := clientBytes(b, func(fr *http2.Framer, enc *hpack.Encoder, buf *bytes.Buffer) error {
		body := make([]byte, 1<<10)
		for i := range benchRequests {
			id := uint32(2*i + 1)
			block := encodeRequest(enc, buf, "/api/items/"+strconv.Itoa(i),
				hpack.HeaderField{Name: "user-agent", Value: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"},
				hpack.HeaderField{Name: "accept", Value: "application/json"},
				hpack.HeaderField{Name: "accept-encoding", Value: "gzip, deflate, br"},
				hpack.HeaderField{Name: "content-type", Value: "application/json"},
				hpack.HeaderField{Name: "cookie", Value: "session=0123456789abcdef0123456789abcdef"},
			)
			if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndHeaders: true}); err != nil {
				return err
			}
			if err := fr.WriteData(id, true, body); err != nil {
				return err
			}
		}
		return nil
	})
	for _, mode := range []struct {
		name string
		wrap func(net.Conn) net.Conn
	}{
		{"direct", func(c net.Conn) net.Conn { return c }},
		{"inspected", func(c net.Conn) net.Conn { return newInspectedConn(c, testMaxHeaderSize) }},
	} {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				readAsLibrary(b, mode.wrap(byteConn{r: bytes.NewReader(in)}))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRequests), "ns/request")
		})
	}
}

// benchRequests is the number of requests of a connection in BenchmarkInspection.
const benchRequests = 256

// readAsLibrary reads the preface and then every frame from conn, as x/net/http2's server does.
func readAsLibrary(b *testing.B, conn net.Conn) {
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(conn, preface); err != nil {
		b.Fatal(err)
	}
	fr := http2.NewFramer(io.Discard, conn)
	fr.ReadMetaHeaders = hpack.NewDecoder(headerTableSize, nil)
	fr.MaxHeaderListSize = testMaxHeaderSize
	fr.SetMaxReadFrameSize(maxFrameSize)
	for {
		if _, err := fr.ReadFrame(); err != nil {
			if err != io.EOF {
				b.Fatal(err)
			}
			return
		}
	}
}
