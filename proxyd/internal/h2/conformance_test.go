package h2

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/h2conn"
	"proxyd.dev/proxyd/internal/routetest"
)

// startHello starts a proxy in front of an h2c backend that answers every request "hello", and
// returns the proxy's address.
func startHello(t testing.TB) string {
	be := startH2C(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}))
	return startProxy(t, testConfig(t, routetest.Table(t, addr(be)))).addr
}

// dialReady opens a raw HTTP/2 connection to addr and exchanges the SETTINGS.
func dialReady(t testing.TB, addr string) *h2test.RawClient {
	c := h2test.Dial(t, addr, waitLimit)
	c.Settings()
	return c
}

// writeHeaders sends a HEADERS frame that ends stream id and carries the whole block.
func writeHeaders(t testing.TB, c *h2test.RawClient, id uint32, block []byte) {
	t.Helper()
	if err := c.Framer().WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
}

// expectHello reads the response of the stream opened last and checks it is the backend's.
func expectHello(t testing.TB, c *h2test.RawClient) {
	t.Helper()
	if status, body := c.Response(); status != "200" || string(body) != "hello" {
		t.Errorf("response %s %q, want 200 %q", status, body, "hello")
	}
}

// TestMalformedRequestReset sends requests with a connection-specific field, or a TE other than
// "trailers", which RFC 9113 §8.2.2 makes malformed: each stream is reset with PROTOCOL_ERROR, and
// the connection goes on serving. TE "trailers" is no such field.
func TestMalformedRequestReset(t *testing.T) {
	proxyAddr := startHello(t)
	for _, fields := range [][][2]string{
		{{"connection", "keep-alive"}},
		{{"proxy-connection", "keep-alive"}},
		{{"keep-alive", "timeout=5"}},
		{{"transfer-encoding", "chunked"}},
		{{"upgrade", "h2c"}},
		{{"te", "trailers, deflate"}},
		{{"te", "gzip"}},
		{{"te", "trailers"}, {"te", "trailers"}},
		{{"accept", "*/*"}, {"connection", "close"}, {"x-after", "1"}},
	} {
		t.Run(fmt.Sprint(fields), func(t *testing.T) {
			c := dialReady(t, proxyAddr)
			writeHeaders(t, c, 1, c.Request("/", fields...))
			c.ExpectReset(1, http2.ErrCodeProtocol)
			c.Get(3, "/")
			expectHello(t, c)
		})
	}
	t.Run("te trailers", func(t *testing.T) {
		c := dialReady(t, proxyAddr)
		writeHeaders(t, c, 1, c.Request("/", [2]string{"te", "trailers"}))
		expectHello(t, c)
	})
}

// TestValueWhitespace sends fields whose values start or end with whitespace, which RFC 9113
// §8.2.1 makes malformed and clients send all the same: an HTTP/1.1 backend gets them without it,
// as it would strip it itself, and the values proxyd forwards are the ones it read; a pseudo-header
// field with such whitespace has its stream reset with PROTOCOL_ERROR.
func TestValueWhitespace(t *testing.T) {
	got := make(chan rawRequest, 1)
	be := startRaw(t, func(c *rawConn) {
		for req, ok := c.read(); ok; req, ok = c.read() {
			got <- req
			c.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
		}
	})
	c := dialReady(t, startProxy(t, testConfig(t, routetest.Table(t, be.addr()))).addr)
	writeHeaders(t, c, 1, c.Request("/", [2]string{"cookie", "a=1; "}, [2]string{"x-a", "\t v w "}))
	expectHello(t, c)
	want := "GET / HTTP/1.1\r\nHost: example.test\r\nCookie: a=1;\r\nX-A: v w\r\n\r\n"
	if diff := cmp.Diff(want, (<-got).Head); diff != "" {
		t.Errorf("request at the backend (-want +got):\n%s", diff)
	}
	writeHeaders(t, c, 3, c.Block([2]string{":method", "GET"}, [2]string{":scheme", "http"}, [2]string{":authority", "example.test "}, [2]string{":path", "/"}))
	c.ExpectReset(3, http2.ErrCodeProtocol)
	c.Get(5, "/")
	expectHello(t, c)
}

// TestAuthorityHostBytes sends :authority values that are not uri-host [":" port] (RFC 9113
// §8.3.1, RFC 3986 §3.2.2): userinfo, a path, a space, raw UTF-8. Each stream is reset with
// PROTOCOL_ERROR before a backend sees it, as HTTP/1.x answers such a Host 400; the connection
// goes on serving, and an IP literal with a port passes.
func TestAuthorityHostBytes(t *testing.T) {
	got := make(chan rawRequest, 8) // room for every request, should one get through
	be := startRaw(t, func(c *rawConn) {
		for req, ok := c.read(); ok; req, ok = c.read() {
			got <- req
			c.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
		}
	})
	c := dialReady(t, startProxy(t, testConfig(t, routetest.Table(t, be.addr()))).addr)
	id := uint32(1)
	for _, authority := range []string{"user@example.test", "example.test/x", "a b", "caf\xc3\xa9"} {
		writeHeaders(t, c, id, c.Block([2]string{":method", "GET"}, [2]string{":scheme", "http"}, [2]string{":authority", authority}, [2]string{":path", "/"}))
		c.ExpectReset(id, http2.ErrCodeProtocol)
		id += 2
	}
	writeHeaders(t, c, id, c.Block([2]string{":method", "GET"}, [2]string{":scheme", "http"}, [2]string{":authority", "[::1]:8080"}, [2]string{":path", "/"}))
	expectHello(t, c)
	if head := (<-got).Head; !strings.Contains(head, "\r\nHost: [::1]:8080\r\n") {
		t.Errorf("request at the backend %q, want Host: [::1]:8080", head)
	}
}

// TestBodyLengthMismatch sends request bodies that end shorter or run longer than their
// content-length, which makes the request malformed (RFC 9113 §8.1.1): the stream is reset with
// PROTOCOL_ERROR once the mismatch shows, and the HTTP/1.1 backend connection that took the head
// is closed, never reused for the next stream, whose request would otherwise be read as the rest
// of the body.
func TestBodyLengthMismatch(t *testing.T) {
	for _, tc := range []struct {
		name, length, body string
	}{
		{"shorter", "10", "abc"},
		{"longer", "1", "abc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			headSeen, firstEnded := make(chan struct{}), make(chan struct{})
			be := startRaw(t, func(c *rawConn) {
				if c.index == 1 { // the malformed request's: read to its end
					if _, ok := readHeadOnly(c); ok {
						close(headSeen)
						io.Copy(io.Discard, c.br)
					}
					close(firstEnded)
					return
				}
				for _, ok := c.read(); ok; _, ok = c.read() {
					c.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
				}
			})
			c := dialReady(t, startProxy(t, testConfig(t, routetest.Table(t, be.addr()))).addr)
			block := c.Block([2]string{":method", "POST"}, [2]string{":scheme", "http"}, [2]string{":authority", "example.test"},
				[2]string{":path", "/"}, [2]string{"content-length", tc.length})
			if err := c.Framer().WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndHeaders: true}); err != nil {
				t.Fatal(err)
			}
			within(t, headSeen, "the request head at the backend")
			if err := c.Framer().WriteData(1, true, []byte(tc.body)); err != nil {
				t.Fatal(err)
			}
			c.ExpectReset(1, http2.ErrCodeProtocol)
			within(t, firstEnded, "the backend connection closing")
			c.Get(3, "/")
			expectHello(t, c)
		})
	}
}

// TestMalformedRequestAcrossFrames splits a malformed request's header block over a HEADERS frame
// with padding and a priority and two CONTINUATION frames, then sends the field again, now as an
// index into the dynamic table: both streams are reset, and a request after them is served, so
// the server's HPACK decoder and proxyd's stayed in step with the client's encoder.
func TestMalformedRequestAcrossFrames(t *testing.T) {
	c := dialReady(t, startHello(t))
	fr := c.Framer()
	block := c.Request("/", [2]string{"connection", "close"})
	param := http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:3], EndStream: true, PadLength: 7, Priority: http2.PriorityParam{Weight: 200}}
	if err := fr.WriteHeaders(param); err != nil {
		t.Fatal(err)
	}
	if err := fr.WriteContinuation(1, false, block[3:6]); err != nil {
		t.Fatal(err)
	}
	if err := fr.WriteContinuation(1, true, block[6:]); err != nil {
		t.Fatal(err)
	}
	c.ExpectReset(1, http2.ErrCodeProtocol)
	again := c.Request("/", [2]string{"connection", "close"})
	if len(again) >= len(block) {
		t.Fatalf("the second block (%d bytes) is not indexed, as long as the first (%d)", len(again), len(block))
	}
	writeHeaders(t, c, 3, again)
	c.ExpectReset(3, http2.ErrCodeProtocol)
	c.Get(5, "/")
	expectHello(t, c)
}

// TestMalformedRequestTooLarge sends a malformed request whose header list is also larger than
// SETTINGS_MAX_HEADER_LIST_SIZE: it is answered 431, as it would be without the malformed field.
func TestMalformedRequestTooLarge(t *testing.T) {
	c := dialReady(t, startHello(t))
	big := strings.Repeat("x", testMaxHeaderSize/3)
	writeHeaders(t, c, 1, c.Request("/", [2]string{"connection", "close"}, [2]string{"a", big}, [2]string{"b", big}, [2]string{"c", big}))
	if status, _ := c.Response(); status != "431" {
		t.Errorf("status %s, want 431", status)
	}
}

// TestHeadersOverMaxFrameSize sends a HEADERS frame larger than the SETTINGS_MAX_FRAME_SIZE
// advertised: a connection error FRAME_SIZE_ERROR (RFC 9113 §4.2).
func TestHeadersOverMaxFrameSize(t *testing.T) {
	c := dialReady(t, startHello(t))
	var fields [][2]string
	for i := range 5 {
		fields = append(fields, [2]string{fmt.Sprintf("x-dummy%d", i), strings.Repeat("x", h2conn.FrameSize/4)})
	}
	block := c.Request("/", fields...)
	if len(block) <= h2conn.FrameSize {
		t.Fatalf("block of %d bytes, want more than %d", len(block), h2conn.FrameSize)
	}
	writeHeaders(t, c, 1, block)
	c.ExpectGoAwayWith(http2.ErrCodeFrameSize)
}

// TestRepeatedSettingApplies sends SETTINGS_INITIAL_WINDOW_SIZE twice in one SETTINGS frame: the
// frame is acknowledged and the last value is in force (RFC 9113 §6.5.3), so the response body
// comes one byte per DATA frame, each after a WINDOW_UPDATE.
func TestRepeatedSettingApplies(t *testing.T) {
	c := dialReady(t, startHello(t))
	fr := c.Framer()
	if err := fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1}); err != nil {
		t.Fatal(err)
	}
	for acked := false; !acked; {
		switch f := c.Next().(type) {
		case *http2.SettingsFrame:
			acked = f.IsAck()
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v, want the SETTINGS acknowledged", f.ErrCode)
		}
	}
	c.Get(1, "/")
	var sizes []int // of the DATA frames that carry bytes
	var body []byte
	for ended := false; !ended; {
		f, ok := c.Next().(*http2.DataFrame)
		if !ok {
			continue
		}
		ended = f.StreamEnded()
		if n := len(f.Data()); n > 0 {
			sizes, body = append(sizes, n), append(body, f.Data()...)
			if err := fr.WriteWindowUpdate(1, uint32(n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if diff := cmp.Diff([]int{1, 1, 1, 1, 1}, sizes); diff != "" || string(body) != "hello" {
		t.Errorf("body %q; DATA frame sizes (-want +got):\n%s", body, diff)
	}
}

// TestSettingsFloodLimitKept sends a SETTINGS frame of more settings than x/net/http2 takes, one
// setting repeated: the connection is closed with PROTOCOL_ERROR, as the library does.
func TestSettingsFloodLimitKept(t *testing.T) {
	c := dialReady(t, startHello(t))
	settings := make([]http2.Setting, maxSettingsPerFrame+1)
	for i := range settings {
		settings[i] = http2.Setting{ID: http2.SettingEnablePush, Val: 0}
	}
	if err := c.Framer().WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	c.ExpectGoAwayWith(http2.ErrCodeProtocol)
}
