package h2

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/proxyd/internal/routetest"
	"proxyd.dev/proxyd/internal/upstream"
)

// noContent is a complete response without a body that keeps the connection open.
const noContent = "HTTP/1.1 204 No Content\r\n\r\n"

// TestH1RequestHead checks the bytes an HTTP/1.1 backend receives for a stream: the request line
// with the request-target as sent, Host from :authority, the fields (Cookie joined) in the order
// of their names, and the body framed by what is known of it: Content-Length, chunked with the
// stream's trailers as chunked trailers, "Content-Length: 0" for an empty POST, nothing for a GET.
func TestH1RequestHead(t *testing.T) {
	const fields = "Accept-Encoding: identity\r\nCookie: a=1; b=2\r\nX-Custom: x\r\n"
	for _, tc := range []struct {
		name    string
		method  string
		body    io.Reader // nil: none
		trailer http.Header
		want    rawRequest
	}{
		{"GET", http.MethodGet, nil, nil, rawRequest{
			Head: "GET /a%2Fb/c?x=1&y HTTP/1.1\r\nHost: example.test\r\n" + fields + "\r\n"}},
		{"POST with a length", http.MethodPost, strings.NewReader("hello"), nil, rawRequest{
			Head: "POST /a%2Fb/c?x=1&y HTTP/1.1\r\nHost: example.test\r\n" + fields + "Content-Length: 5\r\n\r\n",
			Body: "hello"}},
		{"POST of unknown length", http.MethodPost, io.MultiReader(strings.NewReader("hello")), nil, rawRequest{
			Head:    "POST /a%2Fb/c?x=1&y HTTP/1.1\r\nHost: example.test\r\n" + fields + "Transfer-Encoding: chunked\r\n\r\n",
			Body:    "hello",
			Trailer: textproto.MIMEHeader{}}},
		{"POST with trailers", http.MethodPost, strings.NewReader("hello"), http.Header{"X-Checksum": {"abc"}}, rawRequest{
			Head:    "POST /a%2Fb/c?x=1&y HTTP/1.1\r\nHost: example.test\r\n" + fields + "Transfer-Encoding: chunked\r\n\r\n",
			Body:    "hello",
			Trailer: textproto.MIMEHeader{"X-Checksum": {"abc"}}}},
		{"empty POST", http.MethodPost, http.NoBody, nil, rawRequest{
			Head: "POST /a%2Fb/c?x=1&y HTTP/1.1\r\nHost: example.test\r\n" + fields + "Content-Length: 0\r\n\r\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan rawRequest, 1)
			be := startRaw(t, func(c *rawConn) {
				if req, ok := c.read(); ok {
					got <- req
					c.send(noContent)
				}
			})
			p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
			req, err := http.NewRequest(tc.method, "http://"+p.addr, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			u := targetURL(p.addr, "/a%2Fb/c?x=1&y")
			req.URL = &u
			req.Host = "example.test"
			// No User-Agent or Accept-Encoding of the client's own.
			req.Header = http.Header{"Cookie": {"a=1", "b=2"}, "X-Custom": {"x"}, "User-Agent": {""}, "Accept-Encoding": {"identity"}}
			req.Trailer = tc.trailer
			if resp, _ := do(t, newClient(t), req); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("status %d, want 204", resp.StatusCode)
			}
			if diff := cmp.Diff(tc.want, <-got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("request at the backend (-want +got):\n%s", diff)
			}
		})
	}
}

// TestH1StrictResponse answers 502 on the stream, counted as an invalid response, for response
// heads net/http's client takes but wire refuses, as the HTTP/1.x engine does, and for a body in a
// transfer coding other than chunked, which an HTTP/2 response cannot carry (net/http's client
// refuses it too); the connection's next stream is served.
func TestH1StrictResponse(t *testing.T) {
	for _, tc := range []struct {
		name, response string
		netHTTPRefuses bool
	}{
		{"Content-Length and Transfer-Encoding", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", false},
		{"obs-fold", "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok", false},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", false},
		{"whitespace before a colon", "HTTP/1.1 200 OK\r\nX-Spaced : a\r\nContent-Length: 2\r\n\r\nok", false},
		{"control byte in the reason", "HTTP/1.1 200 O\x01K\r\nContent-Length: 2\r\n\r\nok", false},
		{"head over the limit", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 90)+"\r\n", upstream.MaxResponseHeadSize/64) + "Content-Length: 2\r\n\r\nok", false},
		{"101 to a plain request", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", false},
		{"gzip before chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(tc.response)), nil); tc.netHTTPRefuses {
				if err == nil {
					t.Fatalf("net/http's client takes the response")
				}
			} else if err != nil {
				t.Fatalf("net/http's client refuses the response too: %v", err)
			} else if _, err := io.ReadAll(resp.Body); err != nil {
				t.Fatalf("net/http's client refuses the response body: %v", err)
			}
			be := startRaw(t, func(c *rawConn) {
				for req, ok := c.read(); ok; req, ok = c.read() {
					if strings.HasPrefix(req.Head, "GET /bad ") {
						c.send(tc.response)
						return
					}
					c.send("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood")
				}
			})
			cfg := testConfig(t, routetest.Table(t, be.addr()))
			cfg.Metrics = metrics.New()
			p := startProxy(t, cfg)
			c := newClient(t)
			resp, body := get(t, c, p, "/bad")
			checkAnswer(t, resp, body, http.StatusBadGateway)
			if resp, body := get(t, c, p, "/next"); resp.StatusCode != http.StatusOK || body != "good" {
				t.Errorf("next stream: %d %q, want 200 %q", resp.StatusCode, body, "good")
			}
			if want := failureLine(be.addr(), metrics.InvalidResponse, 1); !strings.Contains(scrape(t, cfg.Metrics), want) {
				t.Errorf("no line %q in the metrics", want)
			}
		})
	}
}

// TestH1StrictChunkedBody resets the stream, counted as a failure during the body, when a chunked
// body that net/http's client decodes breaks wire's rules after the head went out (a 502 can no
// longer be sent).
func TestH1StrictChunkedBody(t *testing.T) {
	for _, tc := range []struct{ name, response string }{
		{"space after the chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n"},
		{"control byte in an extension", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a\x01\r\nhello\r\n0\r\n\r\n"},
		{"whitespace before a trailer's colon", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX : a\r\n\r\n"},
		{"obs-fold in the trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: a\r\n b\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(tc.response)), nil)
			if err != nil {
				t.Fatalf("net/http's client refuses the response: %v", err)
			}
			if body, err := io.ReadAll(resp.Body); err != nil || string(body) != "hello" {
				t.Fatalf("net/http's client reads the body %q, %v", body, err)
			}
			be := startRaw(t, func(c *rawConn) {
				if _, ok := c.read(); ok {
					c.send(tc.response)
				}
			})
			cfg := testConfig(t, routetest.Table(t, be.addr()))
			cfg.Metrics = metrics.New()
			p := startProxy(t, cfg)
			resp, err = newClient(t).Do(newGet(t, p, "/x"))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if _, err := io.ReadAll(resp.Body); err == nil {
				t.Error("the stream ended like a complete response, want it reset")
			}
			if want := failureLine(be.addr(), metrics.BodyFailed, 1); !strings.Contains(scrape(t, cfg.Metrics), want) {
				t.Errorf("no line %q in the metrics", want)
			}
		})
	}
}

// TestH1ChunkedTrailers relays the trailer fields of a chunked response as HTTP/2 trailers, and
// skips the interim responses before it.
func TestH1ChunkedTrailers(t *testing.T) {
	be := startRaw(t, func(c *rawConn) {
		if _, ok := c.read(); ok {
			c.send("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
				"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Grpc-Status\r\n\r\n" +
				"4;ext=1\r\nbody\r\n0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n")
		}
	})
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
	resp, body := get(t, newClient(t), p, "/grpc")
	if resp.StatusCode != http.StatusOK || body != "body" {
		t.Errorf("response %d %q, want 200 %q", resp.StatusCode, body, "body")
	}
	want := http.Header{"Grpc-Status": {"0"}, "Grpc-Message": {"ok"}}
	if diff := cmp.Diff(want, resp.Trailer); diff != "" {
		t.Errorf("trailers (-want +got):\n%s", diff)
	}
}

// keepAliveBackend answers each request by its path, as a script of raw responses, on as many
// connections as the proxy opens.
func keepAliveBackend(t *testing.T, responses map[string]string) *rawBackend {
	return startRaw(t, func(c *rawConn) {
		for req, ok := c.read(); ok; req, ok = c.read() {
			path := strings.Fields(req.Head)[1]
			resp, found := responses[path]
			if !found {
				t.Errorf("backend: unexpected request %q", req.Head)
				return
			}
			c.send(resp)
			if strings.Contains(resp, "Connection: close") || strings.HasPrefix(resp, "HTTP/1.0") {
				return
			}
		}
	})
}

// TestH1ConnectionReuse carries sequential streams over one backend connection while each
// response leaves it fit for another request, whatever its framing, and opens a new one after a
// response that closes it.
func TestH1ConnectionReuse(t *testing.T) {
	be := keepAliveBackend(t, map[string]string{
		"/length":  "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nlength",
		"/chunked": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nchu\r\n4\r\nnked\r\n0\r\nT: v\r\n\r\n",
		"/empty":   noContent,
		"/close":   "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nclose",
		"/eof":     "HTTP/1.0 200 OK\r\n\r\nuntil the end",
	})
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
	c := newClient(t)
	for i, step := range []struct {
		path, body  string
		connections int32 // backend connections served after the stream
	}{
		{"/length", "length", 1},
		{"/chunked", "chunked", 1},
		{"/empty", "", 1},
		{"/length", "length", 1},
		{"/close", "close", 1},
		{"/chunked", "chunked", 2},
		{"/eof", "until the end", 2},
		{"/length", "length", 3},
	} {
		if _, body := get(t, c, p, step.path); body != step.body {
			t.Errorf("step %d: GET %s: body %q, want %q", i, step.path, body, step.body)
		}
		if n := be.served.Load(); n != step.connections {
			t.Errorf("step %d: GET %s: %d backend connections, want %d", i, step.path, n, step.connections)
		}
	}
}

// TestH1NoReuseAfterEarlyClose closes the backend connection of a stream whose client resets it
// in the middle of the response body; the next stream gets a new connection.
func TestH1NoReuseAfterEarlyClose(t *testing.T) {
	closed := make(chan struct{})
	be := startRaw(t, func(c *rawConn) {
		for req, ok := c.read(); ok; req, ok = c.read() {
			if !strings.HasPrefix(req.Head, "GET /long ") {
				c.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nshort")
				continue
			}
			c.send("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nfirst")
			if _, more := c.read(); !more { // the connection ends instead of carrying a request
				close(closed)
			}
			return
		}
	})
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
	c := newClient(t)
	resp, err := c.Do(newGet(t, p, "/long"))
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, len("first"))
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() // RST_STREAM
	within(t, closed, "the backend connection closing")
	if _, body := get(t, c, p, "/short"); body != "short" {
		t.Errorf("next stream: body %q", body)
	}
	if n := be.served.Load(); n != 2 {
		t.Errorf("%d backend connections, want 2", n)
	}
}

// TestH1Retry sends a GET, HEAD or OPTIONS without a body once more, on a new connection, when the
// reused connection it went on ends before any response byte; nothing else is sent twice.
func TestH1Retry(t *testing.T) {
	for _, tc := range []struct {
		name     string
		method   string
		path     string
		first    bool  // the request is the first on its connection
		status   int   // the answer the client gets
		attempts int32 // how often the backend saw the request
	}{
		{"GET", http.MethodGet, "/drop-once", false, http.StatusOK, 2},
		{"HEAD", http.MethodHead, "/drop-once", false, http.StatusOK, 2},
		{"OPTIONS", http.MethodOptions, "/drop-once", false, http.StatusOK, 2},
		{"POST", http.MethodPost, "/drop-once", false, http.StatusBadGateway, 1},
		{"DELETE", http.MethodDelete, "/drop-once", false, http.StatusBadGateway, 1},
		{"GET on a new connection", http.MethodGet, "/drop-once", true, http.StatusBadGateway, 1},
		{"GET after a response byte", http.MethodGet, "/partial", false, http.StatusBadGateway, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var attempts atomic.Int32
			be := startRaw(t, func(c *rawConn) {
				for req, ok := c.read(); ok; req, ok = c.read() {
					switch path := strings.Fields(req.Head)[1]; {
					case path != tc.path:
						c.send(noContent)
						continue
					case attempts.Add(1) > 1:
						c.send(noContent)
						continue
					case path == "/partial":
						c.send("HTTP/1.1 2")
					}
					return // the connection ends without (a whole) answer
				}
			})
			p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
			c := newClient(t)
			if !tc.first {
				get(t, c, p, "/warm-up")
			}
			req := newGet(t, p, tc.path)
			req.Method = tc.method
			resp, _ := do(t, c, req)
			want := tc.status
			if want == http.StatusOK {
				want = http.StatusNoContent
			}
			if resp.StatusCode != want || attempts.Load() != tc.attempts {
				t.Errorf("status %d after %d attempts, want %d after %d", resp.StatusCode, attempts.Load(), want, tc.attempts)
			}
		})
	}
}

// TestH1BidirectionalChunked streams a request body of unknown length to a backend as chunks, one
// per client write, while the backend answers each chunk with one of its own before the request
// has ended.
func TestH1BidirectionalChunked(t *testing.T) {
	chunks := make(chan []string, 1)
	be := startRaw(t, func(c *rawConn) {
		req, _ := readHeadOnly(c)
		if !strings.Contains(req, "Transfer-Encoding: chunked\r\n") {
			t.Errorf("request head %q, want a chunked body", req)
			return
		}
		c.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		var seen []string
		for {
			var size int
			if _, err := fmt.Fscanf(c.br, "%x\r\n", &size); err != nil {
				t.Errorf("chunk size: %v", err)
				return
			}
			data := make([]byte, size+2)
			if _, err := io.ReadFull(c.br, data); err != nil {
				return
			}
			if size == 0 {
				break
			}
			seen = append(seen, string(data[:size]))
			answer := strings.ToUpper(string(data[:size]))
			c.send(fmt.Sprintf("%x\r\n%s\r\n", len(answer), answer))
		}
		c.send("0\r\n\r\n")
		chunks <- seen
	})
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
	resp, pw := openPost(t, "http://"+p.addr+"/chat")
	lines := bufio.NewReader(resp.Body)
	var sent []string
	for i := range streamTurns {
		line := fmt.Sprintf("line %d\n", i)
		io.WriteString(pw, line)
		sent = append(sent, line)
		if got, err := lines.ReadString('\n'); got != strings.ToUpper(line) || err != nil {
			t.Fatalf("turn %d: read %q, %v; want %q", i, got, err, strings.ToUpper(line))
		}
	}
	pw.Close()
	if rest, err := io.ReadAll(lines); len(rest) > 0 || err != nil {
		t.Errorf("after the last turn: %q, %v; want the end of the body", rest, err)
	}
	if diff := cmp.Diff(sent, <-chunks); diff != "" {
		t.Errorf("chunks at the backend, one per client write (-want +got):\n%s", diff)
	}
}

// readHeadOnly reads a request head and leaves its body unread.
func readHeadOnly(c *rawConn) (string, bool) {
	var head strings.Builder
	for {
		line, err := c.br.ReadString('\n')
		head.WriteString(line)
		if err != nil {
			return head.String(), false
		}
		if line == "\r\n" {
			return head.String(), true
		}
	}
}

// TestH1BackendStopsTakingBody answers 504, counted as a stalled backend, when an HTTP/1.1
// backend takes no byte of a request body for the idle timeout while the client keeps sending.
func TestH1BackendStopsTakingBody(t *testing.T) {
	be := startRaw(t, func(c *rawConn) {
		if _, ok := readHeadOnly(c); ok {
			<-t.Context().Done() // reads nothing more until the test ends
		}
	})
	cfg := testConfig(t, routetest.Table(t, be.addr()))
	cfg.IdleTimeout = shortIdle
	cfg.Metrics = metrics.New()
	p := startProxy(t, cfg)
	body, feed := io.Pipe()
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		chunk := make([]byte, 64<<10)
		for {
			if _, err := feed.Write(chunk); err != nil {
				return
			}
		}
	}()
	req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/upload", body)
	if err != nil {
		t.Fatal(err)
	}
	resp, answer := do(t, newClient(t), req)
	body.Close()
	<-fed
	checkAnswer(t, resp, answer, http.StatusGatewayTimeout)
	if want := failureLine(be.addr(), metrics.Stalled, 1); !strings.Contains(scrape(t, cfg.Metrics), want) {
		t.Errorf("no line %q in the metrics", want)
	}
}

// TestH1Unforwardable answers 400 for a stream whose :path holds a space, which x/net/http2 takes
// but no HTTP/1.1 request line can carry; the backend gets nothing.
func TestH1Unforwardable(t *testing.T) {
	be := startRaw(t, func(c *rawConn) {
		if req, ok := c.read(); ok {
			t.Errorf("the backend received %q", req.Head)
		}
	})
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
	c := h2test.Dial(t, p.addr, waitLimit)
	c.Settings()
	if err := c.Framer().WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.Request("/a b HTTP/1.1"), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	if status, _ := c.Response(); status != "400" {
		t.Errorf("status %q, want 400", status)
	}
}
