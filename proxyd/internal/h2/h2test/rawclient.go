// Package h2test holds test helpers for HTTP/2 on the wire, shared by the tests of packages h2,
// h2upstream and engine: a raw client, a raw server, an h2c client and bounded waits.
package h2test

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// RawClient speaks HTTP/2 frame by frame, for tests that look at frames: SETTINGS, GOAWAY,
// RST_STREAM, or send frames no HTTP/2 client library would. It is used by the test's goroutine
// only.
type RawClient struct {
	t    testing.TB
	conn net.Conn
	fr   *http2.Framer
	// enc encodes every header block of the connection, so that its dynamic table is the one the
	// server's decoder keeps; block holds its output.
	enc   *hpack.Encoder
	block bytes.Buffer
	// wait bounds every read, so that a server that never answers fails the test.
	wait time.Duration
}

// Dial connects to addr, fails the test if it cannot, and sends the client preface and an empty
// SETTINGS frame; wait bounds every later read. The connection is closed when the test ends.
func Dial(t testing.TB, addr string, wait time.Duration) *RawClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return NewRawClient(t, conn, conn, wait)
}

// NewRawClient starts HTTP/2 on conn, writing through w (conn, or a buffer of the test's own in
// front of it): the client preface and an empty SETTINGS frame; wait bounds every later read.
func NewRawClient(t testing.TB, conn net.Conn, w io.Writer, wait time.Duration) *RawClient {
	t.Helper()
	c := &RawClient{t: t, conn: conn, fr: http2.NewFramer(w, conn), wait: wait}
	c.enc = hpack.NewEncoder(&c.block)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if _, err := io.WriteString(w, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	return c
}

// Next reads the next frame, failing the test when none comes within the wait.
func (c *RawClient) Next() http2.Frame {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(c.wait))
	f, err := c.fr.ReadFrame()
	if err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	return f
}

// Settings returns the server's first SETTINGS frame, acknowledging it.
func (c *RawClient) Settings() map[http2.SettingID]uint32 {
	c.t.Helper()
	for {
		if sf, ok := c.Next().(*http2.SettingsFrame); ok && !sf.IsAck() {
			got := make(map[http2.SettingID]uint32)
			sf.ForeachSetting(func(s http2.Setting) error {
				got[s.ID] = s.Val
				return nil
			})
			c.fr.WriteSettingsAck()
			return got
		}
	}
}

// Framer returns the connection's framer, for tests that write frames themselves.
func (c *RawClient) Framer() *http2.Framer { return c.fr }

// Get opens stream id with a GET for path, without a body.
func (c *RawClient) Get(id uint32, path string) {
	c.t.Helper()
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.Request(path), EndStream: true, EndHeaders: true}); err != nil {
		c.t.Fatal(err)
	}
}

// Request returns the header block of a GET for path with the fields extra (name, value) after
// the pseudo-header fields, encoded with the connection's encoder: the block must be sent, whole
// and before any other, for the server's dynamic table to stay the encoder's.
func (c *RawClient) Request(path string, extra ...[2]string) []byte {
	return c.Block(append([][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "example.test"}, {":path", path}}, extra...)...)
}

// Block returns the header block of fields (name, value), in that order, encoded with the
// connection's encoder, which Request's caveat applies to.
func (c *RawClient) Block(fields ...[2]string) []byte {
	c.block.Reset()
	for _, f := range fields {
		c.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	return bytes.Clone(c.block.Bytes())
}

// ExpectGoAway reads until a GOAWAY frame and checks its code is NO_ERROR (a graceful shutdown).
func (c *RawClient) ExpectGoAway() {
	c.t.Helper()
	c.ExpectGoAwayWith(http2.ErrCodeNo)
}

// ExpectGoAwayWith reads until a GOAWAY frame and checks its code is code.
func (c *RawClient) ExpectGoAwayWith(code http2.ErrCode) {
	c.t.Helper()
	for {
		if ga, ok := c.Next().(*http2.GoAwayFrame); ok {
			if ga.ErrCode != code {
				c.t.Errorf("GOAWAY with %v, want %v", ga.ErrCode, code)
			}
			return
		}
	}
}

// ExpectReset reads until the server ends stream id or the connection, and checks that it reset
// the stream with code: a response on the stream or a GOAWAY fails the test.
func (c *RawClient) ExpectReset(id uint32, code http2.ErrCode) {
	c.t.Helper()
	for {
		switch f := c.Next().(type) {
		case *http2.RSTStreamFrame:
			if f.StreamID != id {
				continue
			}
			if f.ErrCode != code {
				c.t.Errorf("stream %d reset with %v, want %v", id, f.ErrCode, code)
			}
			return
		case *http2.MetaHeadersFrame:
			if f.StreamID == id {
				c.t.Errorf("stream %d answered %s, want RST_STREAM %v", id, f.PseudoValue("status"), code)
				return
			}
		case *http2.GoAwayFrame:
			c.t.Errorf("GOAWAY %v while waiting for RST_STREAM %v on stream %d", f.ErrCode, code, id)
			return
		}
	}
}

// Response reads the response of the stream that Get opened last, up to its end, and returns its
// status and body.
func (c *RawClient) Response() (status string, body []byte) {
	c.t.Helper()
	for ended := false; !ended; {
		switch f := c.Next().(type) {
		case *http2.MetaHeadersFrame:
			if s := f.PseudoValue("status"); s != "" {
				status = s
			}
			ended = f.StreamEnded()
		case *http2.DataFrame:
			body = append(body, f.Data()...)
			ended = f.StreamEnded()
		}
	}
	return status, body
}

// Close closes the connection, as a client that leaves does.
func (c *RawClient) Close() { c.conn.Close() }

// ExpectEOF reads until the server closes the connection.
func (c *RawClient) ExpectEOF() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(c.wait))
	for {
		if _, err := c.fr.ReadFrame(); err != nil {
			if err != io.EOF {
				c.t.Errorf("connection ended with %v, want EOF", err)
			}
			return
		}
	}
}
