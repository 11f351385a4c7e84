package h2upstream

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/h2conn"
	"proxyd.dev/proxyd/internal/loopback"
)

// seen is what a Go backend saw of a request.
type seen struct {
	Method        string
	Host          string
	RequestURI    string
	Proto         string
	Header        http.Header
	ContentLength int64
	Body          string
}

// TestGet proves that a GET reaches a Go backend with its method, its :authority as r.Host (the
// request's Host, or its URL's host when Host is empty), its path and query byte for byte as
// RequestURI() gives them, and its fields as given; and that the response comes back with its
// status, its fields under canonical keys, its ContentLength and its body.
func TestGet(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target string // the URL's path and query, as sent
		host   string // req.Host; "" for the URL's host
		header http.Header
	}{
		{"escaped slash and query", "/a%2Fb?x=1", "example.test", http.Header{"Accept": {"*/*"}}},
		{"authority from the URL", "/", "", http.Header{}},
		{"odd bytes kept", "/p;q/%7e%20x/?a=%20&b=%2F&&c", "example.test:8080", http.Header{"X-Empty": {""}}},
		{"repeated fields in order", "/r", "example.test", http.Header{"X-Multi": {"1", "2", "3"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			got := make(chan seen, 1)
			be := startGo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got <- seen{r.Method, r.Host, r.RequestURI, r.Proto, r.Header, r.ContentLength, ""}
				w.Header()["Date"] = nil
				w.Header().Set("Content-Type", "text/plain")
				w.Header()["X-Reply"] = []string{"a", "b"}
				w.WriteHeader(http.StatusAccepted)
				io.WriteString(w, "hello")
			}), nil)
			tr := newTransport(t, be.addr)
			req := newRequest(t, http.MethodGet, be.url+tc.target, nil)
			if got := req.URL.RequestURI(); got != tc.target {
				t.Fatalf("the test's URL gives RequestURI %q, not %q", got, tc.target)
			}
			req.Host = tc.host
			req.Header = tc.header
			resp := mustRoundTrip(t, tr, req)
			body := string(mustReadAll(t, resp.Body))
			resp.Body.Close()

			wantHost := tc.host
			if wantHost == "" {
				wantHost = be.addr
			}
			want := seen{http.MethodGet, wantHost, tc.target, "HTTP/2.0", tc.header, 0, ""}
			if diff := cmp.Diff(want, waitFor(t, got, "the request at the backend")); diff != "" {
				t.Errorf("request at the backend (-want +got):\n%s", diff)
			}
			type response struct {
				StatusCode    int
				Header        http.Header
				ContentLength int64
				Body          string
			}
			header := resp.Header.Clone()
			delete(header, "Content-Length") // whether it is kept is not specified; ContentLength is
			wantResp := response{http.StatusAccepted, http.Header{"Content-Type": {"text/plain"}, "X-Reply": {"a", "b"}}, 5, "hello"}
			if diff := cmp.Diff(wantResp, response{resp.StatusCode, header, resp.ContentLength, body}); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

// field is a header field as a raw server decoded it.
type field struct{ Name, Value string }

// TestRequestFieldsOnTheWire proves, on the frames a raw server reads, that a request's HEADERS
// carry the pseudo-header fields of RFC 9113 §8.3.1 before any other field (:method, :scheme
// "http", :authority, :path), and then req.Header as given with lower-case names (§8.2.1) and
// nothing added; that a GET ends its stream on HEADERS; and that a CONNECT carries only :method and
// :authority (§8.5); and that connection-specific fields are not sent, TE only as "trailers"
// (§8.2.2).
func TestRequestFieldsOnTheWire(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		target string
		header http.Header
		pseudo []field // in any order, but before the others
		fields []field // in the order of their names, values in the order given
	}{
		{"GET", http.MethodGet, "/a%2Fb?x=1", http.Header{"X-Multi": {"1", "2"}, "Accept": {"*/*"}},
			[]field{{":authority", "example.test"}, {":method", "GET"}, {":path", "/a%2Fb?x=1"}, {":scheme", "http"}},
			[]field{{"accept", "*/*"}, {"x-multi", "1"}, {"x-multi", "2"}}},
		{"connection-specific fields dropped", http.MethodGet, "/", http.Header{
			"Connection": {"close"}, "Keep-Alive": {"timeout=5"}, "Proxy-Connection": {"keep-alive"},
			"Transfer-Encoding": {"chunked"}, "Upgrade": {"websocket"}, "Te": {"trailers"}, "X-Kept": {"k"},
		},
			[]field{{":authority", "example.test"}, {":method", "GET"}, {":path", "/"}, {":scheme", "http"}},
			[]field{{"te", "trailers"}, {"x-kept", "k"}}},
		{"TE other than trailers dropped", http.MethodGet, "/", http.Header{"Te": {"gzip"}},
			[]field{{":authority", "example.test"}, {":method", "GET"}, {":path", "/"}, {":scheme", "http"}},
			nil},
		{"CONNECT", http.MethodConnect, "", http.Header{"X-Tunnel": {"t"}},
			[]field{{":authority", "example.test"}, {":method", "CONNECT"}},
			[]field{{"x-tunnel", "t"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			type head struct {
				fields    []hpack.HeaderField
				endStream bool
			}
			got := make(chan head, 1)
			be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
				h, err := c.Request()
				if err != nil {
					return
				}
				got <- head{h.Fields, h.StreamEnded()}
				answer("", hf(":status", "200"))(c, h.StreamID)
			})
			tr := newTransport(t, be.Addr())
			req := newRequest(t, tc.method, be.URL()+tc.target, nil)
			if tc.method == http.MethodConnect {
				req.URL = &url.URL{Host: "example.test"}
			}
			req.Host = "example.test"
			req.Header = tc.header
			resp := mustRoundTrip(t, tr, req)
			resp.Body.Close()

			h := waitFor(t, got, "the request's HEADERS at the server")
			var pseudo, fields []field
			for i, f := range h.fields {
				if strings.HasPrefix(f.Name, ":") {
					if len(fields) > 0 {
						t.Errorf("pseudo-header field %d %q after a regular one", i, f.Name)
					}
					pseudo = append(pseudo, field{f.Name, f.Value})
				} else {
					fields = append(fields, field{f.Name, f.Value})
				}
			}
			sort.SliceStable(pseudo, func(i, j int) bool { return pseudo[i].Name < pseudo[j].Name })
			sort.SliceStable(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
			if diff := cmp.Diff(tc.pseudo, pseudo); diff != "" {
				t.Errorf("pseudo-header fields (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.fields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if tc.method == http.MethodGet && !h.endStream {
				t.Errorf("a GET without a body did not end its stream on HEADERS")
			}
		})
	}
}

// TestInformationalHeadsSkipped proves that 1xx heads (103 Early Hints) before the final head are
// skipped: the response is the final one, with its fields only.
func TestInformationalHeadsSkipped(t *testing.T) {
	checkGoroutines(t)
	be := startGo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header()["Date"] = nil
		w.Header().Set("X-Final", "yes")
		io.WriteString(w, "final")
	}), nil)
	tr := newTransport(t, be.addr)
	resp, body := get(t, tr, be.url+"/")
	if resp.StatusCode != http.StatusOK || body != "final" || resp.Header.Get("X-Final") != "yes" || resp.Header.Get("Link") != "" {
		t.Errorf("got %d %v %q, want 200, X-Final only, \"final\"", resp.StatusCode, resp.Header, body)
	}
}

// TestLargeBodies proves that flow control works both ways beyond the 64 KiB default windows
// (RFC 9113 §6.9): a POST of 5 MiB with a known length reaches the backend whole (its length as
// r.ContentLength), and a 5 MiB response comes back whole, each checked with a hash.
func TestLargeBodies(t *testing.T) {
	checkGoroutines(t)
	const size = 5 << 20
	reqBody, respBody := randomBytes(size, 1), randomBytes(size, 2)
	be := startGo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		w.Header().Set("X-Request-Length", strconv.FormatInt(n, 10))
		w.Header().Set("X-Request-Content-Length", strconv.FormatInt(r.ContentLength, 10))
		w.Header().Set("X-Request-Sha256", fmt.Sprintf("%x", h.Sum(nil)))
		if err != nil {
			w.Header().Set("X-Request-Error", err.Error())
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(respBody)))
		w.Write(respBody)
	}), nil)
	tr := newTransport(t, be.addr)
	req := newRequest(t, http.MethodPost, be.url+"/upload", bytes.NewReader(reqBody))
	resp := mustRoundTrip(t, tr, req)
	got := mustReadAll(t, resp.Body)
	resp.Body.Close()

	type exchange struct {
		RequestLength, RequestContentLength, RequestHash, RequestError string
		ContentLength                                                  int64
		Length                                                         int
		Hash                                                           string
	}
	want := exchange{strconv.Itoa(size), strconv.Itoa(size), hashOf(reqBody), "", size, size, hashOf(respBody)}
	if diff := cmp.Diff(want, exchange{
		resp.Header.Get("X-Request-Length"), resp.Header.Get("X-Request-Content-Length"),
		resp.Header.Get("X-Request-Sha256"), resp.Header.Get("X-Request-Error"),
		resp.ContentLength, len(got), hashOf(got),
	}); diff != "" {
		t.Errorf("5 MiB both ways (-want +got):\n%s", diff)
	}
}

// trailerReader is a request body that fills its request's Trailer when it returns io.EOF.
type trailerReader struct {
	r       io.Reader
	trailer http.Header
	fill    http.Header
}

func (t *trailerReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err == io.EOF {
		for k, v := range t.fill {
			t.trailer[k] = v
		}
	}
	return n, err
}

// TestTrailers proves that request trailers, filled in req.Trailer by the time the body returns
// io.EOF, reach the backend as trailers (whether the body's length is known or not), and that
// the backend's response trailers, declared ones and http.TrailerPrefix ones, are in
// resp.Trailer once Body.Read has returned io.EOF.
func TestTrailers(t *testing.T) {
	for _, tc := range []struct {
		name          string
		contentLength int64
	}{
		{"known length", 7},
		{"unknown length", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			type atBackend struct {
				Body    string
				Trailer http.Header
			}
			got := make(chan atBackend, 1)
			be := startGo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got <- atBackend{string(b), r.Trailer}
				w.Header().Set("Trailer", "X-Declared")
				io.WriteString(w, "response")
				w.Header().Set("X-Declared", "d")
				w.Header().Set(http.TrailerPrefix+"X-Announced-Late", "late")
			}), nil)
			tr := newTransport(t, be.addr)
			req := newRequest(t, http.MethodPost, be.url+"/", nil)
			req.Trailer = http.Header{"X-Checksum": nil}
			req.Body = io.NopCloser(&trailerReader{strings.NewReader("payload"), req.Trailer, http.Header{"X-Checksum": {"abc"}}})
			req.ContentLength = tc.contentLength
			// A Go server keeps only the trailer fields the request declared.
			req.Header = http.Header{"Trailer": {"X-Checksum"}}
			resp := mustRoundTrip(t, tr, req)
			body := string(mustReadAll(t, resp.Body))
			resp.Body.Close()

			if diff := cmp.Diff(atBackend{"payload", http.Header{"X-Checksum": {"abc"}}}, waitFor(t, got, "the request at the backend")); diff != "" {
				t.Errorf("request at the backend (-want +got):\n%s", diff)
			}
			if body != "response" {
				t.Errorf("response body %q, want %q", body, "response")
			}
			if diff := cmp.Diff(http.Header{"X-Declared": {"d"}, "X-Announced-Late": {"late"}}, resp.Trailer); diff != "" {
				t.Errorf("response trailers after EOF (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUnknownLengths proves that a request body of unknown length (ContentLength -1) reaches the
// backend whole with r.ContentLength -1, and that a response without a content-length, sent in
// flushed pieces, has ContentLength -1 and arrives whole.
func TestUnknownLengths(t *testing.T) {
	checkGoroutines(t)
	reqBody := randomBytes(300<<10, 3)
	be := startGo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Request-Content-Length", strconv.FormatInt(r.ContentLength, 10))
		w.Header().Set("X-Request-Sha256", hashOf(b))
		rc := http.NewResponseController(w)
		for i := range 50 {
			fmt.Fprintf(w, "piece %d\n", i)
			rc.Flush()
		}
	}), nil)
	tr := newTransport(t, be.addr)
	req := newRequest(t, http.MethodPost, be.url+"/", io.MultiReader(bytes.NewReader(reqBody)))
	req.ContentLength = -1
	resp := mustRoundTrip(t, tr, req)
	got := string(mustReadAll(t, resp.Body))
	resp.Body.Close()

	var want strings.Builder
	for i := range 50 {
		fmt.Fprintf(&want, "piece %d\n", i)
	}
	type exchange struct {
		Status                            int
		RequestContentLength, RequestHash string
		ContentLength                     int64
		Body                              string
	}
	if diff := cmp.Diff(exchange{200, "-1", hashOf(reqBody), -1, want.String()}, exchange{
		resp.StatusCode, resp.Header.Get("X-Request-Content-Length"), resp.Header.Get("X-Request-Sha256"), resp.ContentLength, got,
	}); diff != "" {
		t.Errorf("unknown lengths both ways (-want +got):\n%s", diff)
	}
}

// TestBidirectionalStreaming proves that request and response bodies stream at once: the backend
// echoes each line as it arrives, and the client sends the next line only after it has read the
// echo of the previous one, which can only finish if neither side is buffered to its end.
func TestBidirectionalStreaming(t *testing.T) {
	checkGoroutines(t)
	be := startGo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		w.WriteHeader(http.StatusOK)
		rc.Flush()
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			fmt.Fprintf(w, "echo %s\n", sc.Text())
			rc.Flush()
		}
	}), nil)
	tr := newTransport(t, be.addr)
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.CloseWithError(fmt.Errorf("test over")) })
	req := newRequest(t, http.MethodPost, be.url+"/echo", pr)
	req.ContentLength = -1
	resp := mustRoundTrip(t, tr, req)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength != -1 {
		t.Fatalf("status %d, ContentLength %d; want 200, -1", resp.StatusCode, resp.ContentLength)
	}
	br := bufio.NewReader(resp.Body)
	bounded(t, "ten lines echoed one by one", func() {
		for i := range 10 {
			line := fmt.Sprintf("line %d", i)
			if _, err := io.WriteString(pw, line+"\n"); err != nil {
				t.Errorf("writing %q: %v", line, err)
				return
			}
			echo, err := br.ReadString('\n')
			if err != nil || echo != "echo "+line+"\n" {
				t.Errorf("after %q: read %q, %v; want %q", line, echo, err, "echo "+line+"\n")
				return
			}
		}
	})
	pw.Close()
	if rest, err := readAll(t, br); err != nil || len(rest) != 0 {
		t.Errorf("after the request's end: %q, %v; want EOF", rest, err)
	}
}

// TestConcurrentRequestsShareConnections proves that 200 concurrent requests over one Transport
// all succeed as concurrent streams of at most 2 connections (a Go server allows 250 streams per
// connection), not one connection each: the backend holds every handler until all 200 are in.
func TestConcurrentRequestsShareConnections(t *testing.T) {
	checkGoroutines(t)
	const n = 200
	g := newGate(n)
	be := startGated(t, g, nil)
	tr := newTransport(t, be.addr)
	concurrentGets(t, tr, be.url, n)
	if g.most() != n {
		t.Errorf("at most %d handlers at once, want %d", g.most(), n)
	}
	if c, o := tr.Conns(), be.opened.Load(); c < 1 || c > 2 || o > 2 {
		t.Errorf("Conns() = %d, the backend accepted %d connections; want 1 or 2", c, o)
	}
}

// concurrentGets sends n GETs for base+"/0" to base+"/n-1" at once and checks that each is
// answered 200 with its path.
func concurrentGets(t *testing.T, tr *Transport, base string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		req := newRequest(t, http.MethodGet, base+"/"+strconv.Itoa(i), nil)
		wg.Go(func() {
			resp, err := tr.RoundTrip(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK || string(b) != req.URL.Path {
				errs <- fmt.Errorf("%s: %d %q %v", req.URL.Path, resp.StatusCode, b, err)
			}
		})
	}
	bounded(t, fmt.Sprintf("%d concurrent requests", n), wg.Wait)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestMaxConcurrentStreamsOpensConnections proves that the transport keeps to the server's
// SETTINGS_MAX_CONCURRENT_STREAMS (2 here) and opens more connections for the streams beyond it:
// 10 concurrent slow requests, held by the backend until all 10 are in, all succeed, over at
// least 5 connections; both when the burst comes on a new transport, before any SETTINGS of the
// server arrived (cold), and after a first GET has brought them (warm).
func TestMaxConcurrentStreamsOpensConnections(t *testing.T) {
	for _, warm := range []bool{false, true} {
		t.Run(map[bool]string{false: "cold", true: "warm"}[warm], func(t *testing.T) {
			testMaxConcurrentStreams(t, warm)
		})
	}
}

func testMaxConcurrentStreams(t *testing.T, warm bool) {
	checkGoroutines(t)
	const n = 10
	g := newGate(n)
	be := startGated(t, g, &http.HTTP2Config{MaxConcurrentStreams: 2})
	tr := newTransport(t, be.addr)
	if warm {
		get(t, tr, be.url+"/warm")
	}
	concurrentGets(t, tr, be.url, n)
	if o := be.opened.Load(); o < n/2 {
		t.Errorf("the backend accepted %d connections, want at least %d for %d streams at 2 a connection", o, n/2, n)
	}
}

// TestCancelEndsBackendStream proves that the request's context cancels the exchange and the
// backend's stream: cancelling before the response head makes RoundTrip fail, cancelling after it
// makes Body.Read fail, and closing the body before its end does the same; in every case the Go
// handler's r.Context() ends (the stream was reset).
func TestCancelEndsBackendStream(t *testing.T) {
	for _, tc := range []struct {
		name string
		head bool // the handler sends the head (and a first byte) before it waits
		// act ends the exchange; resp is nil when head is false.
		act func(t *testing.T, cancel context.CancelFunc, resp *http.Response)
	}{
		{"cancel before the head", false, func(t *testing.T, cancel context.CancelFunc, _ *http.Response) { cancel() }},
		{"cancel after the head", true, func(t *testing.T, cancel context.CancelFunc, resp *http.Response) {
			cancel()
			if b, err := readAll(t, resp.Body); err == nil {
				t.Errorf("Body read to %q without an error after the cancel", b)
			}
		}},
		{"Body.Close before EOF", true, func(t *testing.T, _ context.CancelFunc, resp *http.Response) {
			if err := resp.Body.Close(); err != nil {
				t.Errorf("Body.Close: %v", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			arrived, ended := make(chan struct{}), make(chan struct{})
			be := startGo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.head {
					io.WriteString(w, "x")
					http.NewResponseController(w).Flush()
				}
				close(arrived)
				select {
				case <-r.Context().Done():
					close(ended)
				case <-time.After(2 * waitLimit):
				}
			}), nil)
			endEarly(t, newTransport(t, be.addr), be.url+"/", tc.head, arrived, tc.act)
			waitFor(t, ended, "the end of the handler's r.Context()")
		})
	}
}

// endEarly sends a GET for url on tr with a context of its own, and ends the exchange early with
// act once the request is at the backend (arrived): before the response head when head is false,
// and then checks that RoundTrip fails; else after the head and the first body byte, "x", with
// the response.
func endEarly(t *testing.T, tr *Transport, url string, head bool, arrived <-chan struct{}, act func(*testing.T, context.CancelFunc, *http.Response)) {
	t.Helper()
	req := newRequest(t, http.MethodGet, url, nil)
	ctx, cancel := context.WithCancel(req.Context())
	t.Cleanup(cancel)
	req = req.WithContext(ctx)
	if head {
		resp := mustRoundTrip(t, tr, req)
		waitFor(t, arrived, "the request at the backend")
		b := make([]byte, 1)
		if _, err := io.ReadFull(resp.Body, b); err != nil || string(b) != "x" {
			t.Fatalf("first byte %q, %v", b, err)
		}
		act(t, cancel, resp)
		return
	}
	errc := make(chan error, 1)
	go func() {
		resp, err := tr.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	waitFor(t, arrived, "the request at the backend")
	act(t, cancel, nil)
	if err := waitFor(t, errc, "RoundTrip's return after the cancel"); err == nil {
		t.Errorf("RoundTrip succeeded after a cancel before the head")
	}
}

// TestCancelSendsRSTStreamCancel proves, on the frames a raw server reads, that each way of
// ending an exchange early resets its stream with RST_STREAM CANCEL (RFC 9113 §8.7), and that
// the connection itself stays (no GOAWAY).
func TestCancelSendsRSTStreamCancel(t *testing.T) {
	for _, tc := range []struct {
		name string
		head bool
		act  func(t *testing.T, cancel context.CancelFunc, resp *http.Response)
	}{
		{"cancel before the head", false, func(_ *testing.T, cancel context.CancelFunc, _ *http.Response) { cancel() }},
		{"cancel after the head", true, func(_ *testing.T, cancel context.CancelFunc, _ *http.Response) { cancel() }},
		{"Body.Close before EOF", true, func(_ *testing.T, _ context.CancelFunc, resp *http.Response) { resp.Body.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			type reset struct {
				Code   http2.ErrCode
				Stream bool // false: a GOAWAY came instead
			}
			arrived, got := make(chan struct{}), make(chan reset, 1)
			be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
				h, err := c.Request()
				if err != nil {
					return
				}
				if tc.head {
					c.WriteHeaders(h.StreamID, false, hf(":status", "200"))
					c.Framer().WriteData(h.StreamID, false, []byte("x"))
				}
				close(arrived)
				code, ok, err := c.Reset(h.StreamID)
				if err == nil {
					got <- reset{code, ok}
				}
				c.Drain()
			})
			endEarly(t, newTransport(t, be.Addr()), be.URL()+"/", tc.head, arrived, tc.act)
			if diff := cmp.Diff(reset{http2.ErrCodeCancel, true}, waitFor(t, got, "an RST_STREAM at the server")); diff != "" {
				t.Errorf("frame ending the stream (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSlowReaderDoesNotStallConnection proves that a stream whose body nobody reads does not
// stall the other streams of its connection (the connection's flow-control window is not spent
// on it, RFC 9113 §5.2): with a response of 8 MiB left unread, another request over the same
// connection completes.
func TestSlowReaderDoesNotStallConnection(t *testing.T) {
	checkGoroutines(t)
	big := randomBytes(8<<20, 4)
	be := startGo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write(big)
			return
		}
		io.WriteString(w, "small")
	}), nil)
	tr := newTransport(t, be.addr)
	bigResp := mustRoundTrip(t, tr, newRequest(t, http.MethodGet, be.url+"/big", nil))
	// The first bytes arrive: the backend is sending, and the unread rest fills the windows.
	first := make([]byte, 1024)
	if _, err := io.ReadFull(bigResp.Body, first); err != nil {
		t.Fatalf("first KiB of /big: %v", err)
	}
	for i := range 3 {
		if _, body := get(t, tr, be.url+"/small"); body != "small" {
			t.Fatalf("request %d beside the unread one: %q", i, body)
		}
	}
	if o := be.opened.Load(); o != 1 {
		t.Errorf("the backend accepted %d connections, want 1 (the streams must share one)", o)
	}
	rest := mustReadAll(t, bigResp.Body)
	if got := append(first, rest...); hashOf(got) != hashOf(big) {
		t.Errorf("/big read later: %d bytes, not the 8 MiB sent", len(got))
	}
	bigResp.Body.Close()
}

// TestUnreadResponseHeld proves what a response nobody reads can make proxyd hold: the backend may
// send streamWindow bytes of it (RFC 9113 §6.9), and a byte more is a flow-control error. A PING
// between the two shows that the window's bytes were all taken without a reset.
func TestUnreadResponseHeld(t *testing.T) {
	checkGoroutines(t)
	type outcome struct {
		ResetWithinWindow bool
		Code              http2.ErrCode
	}
	got := make(chan outcome, 1)
	be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		h, err := c.Request()
		if err != nil {
			return
		}
		id, fr := h.StreamID, c.Framer()
		c.WriteHeaders(id, false, hpack.HeaderField{Name: ":status", Value: "200"})
		chunk := make([]byte, 16<<10)
		for sent := 0; sent < streamWindow; sent += len(chunk) {
			fr.WriteData(id, false, chunk[:min(len(chunk), streamWindow-sent)])
		}
		fr.WritePing(false, [8]byte{'w'})
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if p, ok := f.(*http2.PingFrame); ok && p.IsAck() {
				break
			}
			if _, ok := f.(*http2.RSTStreamFrame); ok {
				got <- outcome{ResetWithinWindow: true}
				return
			}
		}
		fr.WriteData(id, false, []byte("x"))
		code, _, err := c.Reset(id)
		if err == nil {
			got <- outcome{Code: code}
		}
		c.Drain()
	})
	tr := newTransport(t, be.Addr())
	budget := NewWindowBudget(maxStreamWindow)
	req := newRequest(t, http.MethodGet, be.URL()+"/big", nil)
	resp := mustRoundTrip(t, tr, req.WithContext(WithWindowBudget(req.Context(), budget)))
	defer resp.Body.Close()
	if diff := cmp.Diff(outcome{Code: http2.ErrCodeFlowControl}, waitFor(t, got, "the backend's outcome")); diff != "" {
		t.Errorf("unread response (-want +got):\n%s", diff)
	}
	if left := budget.left.Load(); left != maxStreamWindow {
		t.Errorf("the unread stream took %d bytes of its budget, want none", maxStreamWindow-left)
	}
}

// TestWindowGrowsForAReaderThatKeepsUp reads an 8 MiB response as fast as it comes: its stream's
// window grows from streamWindow to maxStreamWindow, or as far as the request's budget lends, and
// the credit goes back to the budget when the body is closed. Without a budget it stays.
func TestWindowGrowsForAReaderThatKeepsUp(t *testing.T) {
	big := randomBytes(8<<20, 5)
	be := startGo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(big) }), nil)
	tr := newTransport(t, be.addr)
	for _, tc := range []struct {
		name       string
		budget     int64 // -1: none
		wantWindow int64
	}{
		{"budget of 4 MiB", 4 << 20, maxStreamWindow},
		{"budget of 256 KiB", 256 << 10, streamWindow + 256<<10},
		{"no budget", -1, streamWindow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := newRequest(t, http.MethodGet, be.url+"/big", nil)
			var budget *WindowBudget
			if tc.budget >= 0 {
				budget = NewWindowBudget(tc.budget)
				req = req.WithContext(WithWindowBudget(req.Context(), budget))
			}
			resp := mustRoundTrip(t, tr, req)
			if got := mustReadAll(t, resp.Body); hashOf(got) != hashOf(big) {
				t.Fatalf("read %d bytes, not the 8 MiB sent", len(got))
			}
			s := resp.Body.(*stream)
			s.c.mu.Lock()
			window := s.recv.Size()
			s.c.mu.Unlock()
			resp.Body.Close()
			if window != tc.wantWindow {
				t.Errorf("window %d after the body, want %d", window, tc.wantWindow)
			}
			if budget != nil && budget.left.Load() != tc.budget {
				t.Errorf("budget %d after Close, want %d back", budget.left.Load(), tc.budget)
			}
		})
	}
}

// TestGoAwayRetried proves that a GET the server refused with GOAWAY (its stream id above the
// last stream id, RFC 9113 §6.8: not processed) is retried on a new connection and succeeds,
// while the stream at or below the last id was answered.
func TestGoAwayRetried(t *testing.T) {
	checkGoroutines(t)
	be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		h, err := c.Request()
		if err != nil {
			return
		}
		if c.Index() > 1 {
			c.Respond(h.StreamID, "second from "+strconv.Itoa(c.Index()))
			c.Drain()
			return
		}
		c.Respond(h.StreamID, "first")
		// The next request is sent on this connection before the GOAWAY tells it not to.
		if _, err := c.Request(); err != nil {
			return
		}
		c.Framer().WriteGoAway(h.StreamID, http2.ErrCodeNo, nil)
		c.Drain()
	})
	tr := newTransport(t, be.Addr())
	if _, body := get(t, tr, be.URL()+"/1"); body != "first" {
		t.Fatalf("first GET: %q", body)
	}
	expectRetried(t, tr, be, "/2", "second from 2")
}

// expectRetried sends a GET for path and checks that the answer is want, from the raw server's
// second connection: the first refused the stream.
func expectRetried(t *testing.T, tr *Transport, be *h2test.RawServer, path, want string) {
	t.Helper()
	if _, body := get(t, tr, be.URL()+path); body != want {
		t.Errorf("GET %s: %q, want %q, answered on connection 2", path, body, want)
	}
	if a := be.Accepted(); a != 2 {
		t.Errorf("%d connections, want 2", a)
	}
}

// TestRefusedStreamRetried proves that a GET reset with REFUSED_STREAM (RFC 9113 §8.7: not
// processed, safe to retry) is retried on a new connection and succeeds.
func TestRefusedStreamRetried(t *testing.T) {
	checkGoroutines(t)
	be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		for {
			h, err := c.Request()
			if err != nil {
				return
			}
			if c.Index() == 1 {
				c.Framer().WriteRSTStream(h.StreamID, http2.ErrCodeRefusedStream)
				continue
			}
			c.Respond(h.StreamID, "from "+strconv.Itoa(c.Index()))
		}
	})
	expectRetried(t, newTransport(t, be.Addr()), be, "/", "from 2")
}

// TestDialError proves that a failed dial is returned as it came: errors.As finds a *net.OpError
// with Op "dial".
func TestDialError(t *testing.T) {
	checkGoroutines(t)
	addr := loopback.ClosedAddr(t)
	tr := newTransport(t, addr)
	_, err := roundTrip(t, tr, newRequest(t, http.MethodGet, "http://"+addr+"/", nil))
	if !opError(err, "dial") {
		t.Errorf("RoundTrip to a closed port: %v (%T), want a *net.OpError with Op \"dial\"", err, err)
	}
	if c := tr.Conns(); c != 0 {
		t.Errorf("Conns() = %d after a failed dial", c)
	}
}

// TestServerFailures proves that a server that breaks the exchange makes RoundTrip (or the body's
// Read) fail, never hang and never succeed: it closes the connection after reading the request;
// it sends DATA on a stream that was never opened (a connection error, RFC 9113 §5.1); or its
// response is malformed (RFC 9113 §8.1.1: an uppercase field name (§8.2.1), a pseudo-header field
// after a regular one or one of a request (§8.3), no :status, a connection-specific field
// (§8.2.2), a pseudo-header field's value ending in whitespace (§8.2.1), a content-length that the
// DATA frames do not match).
func TestServerFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		serve func(c *h2test.RawServerConn, id uint32) // answers stream id (a GET)
		// inBody: the head arrives, and the failure shows when the body is read.
		inBody bool
	}{
		{"close after the request", func(c *h2test.RawServerConn, _ uint32) { c.Conn().Close() }, false},
		{"DATA on a stream never opened", func(c *h2test.RawServerConn, id uint32) {
			c.Framer().WriteData(id+2, false, []byte("stray"))
			c.Drain()
		}, false},
		{"uppercase field name", func(c *h2test.RawServerConn, id uint32) {
			var block []byte
			block = append(block, 0x88) // :status 200, indexed (RFC 7541 Appendix A, index 8)
			block = append(block, literal("X-Upper", "v")...)
			c.WriteBlock(id, true, block)
			c.Drain()
		}, false},
		{"pseudo-header after a regular field", answer("", hf("x-a", "1"), hf(":status", "200")), false},
		{"request pseudo-header in a response", answer("", hf(":status", "200"), hf(":path", "/")), false},
		{"no :status", answer("", hf("x-a", "1")), false},
		{"connection-specific field", answer("", hf(":status", "200"), hf("connection", "keep-alive")), false},
		{"pseudo-header value ending in whitespace", answer("", hf(":status", "200 ")), false},
		{"content-length above the DATA", answer("12345", hf(":status", "200"), hf("content-length", "10")), true},
		{"DATA beyond content-length", answer("12345", hf(":status", "200"), hf("content-length", "3")), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
				h, err := c.Request()
				if err != nil {
					return
				}
				tc.serve(c, h.StreamID)
			})
			tr := newTransport(t, be.Addr())
			resp, err := roundTrip(t, tr, newRequest(t, http.MethodGet, be.URL()+"/", nil))
			if tc.inBody && err == nil {
				b, err := readAll(t, resp.Body)
				resp.Body.Close()
				if err == nil {
					t.Errorf("body read to %q without an error", b)
				}
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Errorf("RoundTrip succeeded: %d %v", resp.StatusCode, resp.Header)
			}
		})
	}
}

// TestFlowControlViolations ends the connection with a GOAWAY of FLOW_CONTROL_ERROR when the
// backend takes a send window past 2^31-1 or sets SETTINGS_INITIAL_WINDOW_SIZE beyond it (RFC 9113
// §6.9.1, §6.9.2, §6.5.2), and fails the stream under way as a malformed response. The backend
// follows its violation with a PING: an acknowledgement instead of a GOAWAY is a violation let pass.
func TestFlowControlViolations(t *testing.T) {
	const fullWindow = h2conn.MaxWindow - h2conn.InitialWindow // takes a window of 65,535 to 2^31-1
	for _, tc := range []struct {
		name    string
		violate func(fr *http2.Framer, id uint32)
	}{
		{"connection WINDOW_UPDATE past 2^31-1", func(fr *http2.Framer, _ uint32) {
			fr.WriteWindowUpdate(0, fullWindow+1)
		}},
		{"SETTINGS_INITIAL_WINDOW_SIZE growing a stream's window past 2^31-1", func(fr *http2.Framer, id uint32) {
			fr.WriteWindowUpdate(id, fullWindow)
			fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2conn.InitialWindow + 1})
		}},
		{"SETTINGS_INITIAL_WINDOW_SIZE over 2^31-1", func(fr *http2.Framer, _ uint32) {
			fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			ping := [8]byte{'f', 'l', 'o', 'w'}
			got := make(chan string, 1)
			be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
				h, err := c.Request()
				if err != nil {
					return
				}
				fr := c.Framer()
				tc.violate(fr, h.StreamID)
				fr.WritePing(false, ping)
				for {
					f, err := fr.ReadFrame()
					if err != nil {
						got <- "no GOAWAY: " + err.Error()
						return
					}
					switch f := f.(type) {
					case *http2.GoAwayFrame:
						got <- f.ErrCode.String()
						return
					case *http2.PingFrame:
						if f.IsAck() && f.Data == ping {
							got <- "PING acknowledged"
							return
						}
					}
				}
			})
			tr := newTransport(t, be.Addr())
			resp, err := roundTrip(t, tr, newRequest(t, http.MethodGet, be.URL()+"/", nil))
			if code := waitFor(t, got, "the backend's outcome"); code != http2.ErrCodeFlowControl.String() {
				t.Errorf("after the violation the backend saw %s, want a GOAWAY of FLOW_CONTROL_ERROR", code)
			}
			if err == nil {
				resp.Body.Close()
				t.Fatalf("RoundTrip succeeded: %d", resp.StatusCode)
			}
			var malformed *MalformedResponseError
			if !errors.As(err, &malformed) {
				t.Errorf("RoundTrip failed with %v, want a MalformedResponseError", err)
			}
		})
	}
}

// TestResponseValueWhitespace takes a response field whose value starts or ends with whitespace,
// which RFC 9113 §8.2.1 makes malformed and servers send all the same (a gRPC status message that
// ends with a space), without that whitespace, in the head as in the trailer.
func TestResponseValueWhitespace(t *testing.T) {
	checkGoroutines(t)
	be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		h, err := c.Request()
		if err != nil {
			return
		}
		c.WriteHeaders(h.StreamID, false, hf(":status", "200"), hf("x-a", " v "))
		c.Framer().WriteData(h.StreamID, false, []byte("ok"))
		c.WriteHeaders(h.StreamID, true, hf("grpc-message", "failed: \t"))
		c.Drain()
	})
	tr := newTransport(t, be.Addr())
	resp, err := roundTrip(t, tr, newRequest(t, http.MethodGet, be.URL()+"/", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, err := readAll(t, resp.Body); err != nil || string(b) != "ok" {
		t.Fatalf("body %q, %v; want %q", b, err, "ok")
	}
	if got, want := resp.Header.Get("X-A"), "v"; got != want {
		t.Errorf("X-A %q, want %q", got, want)
	}
	if got, want := resp.Trailer.Get("Grpc-Message"), "failed:"; got != want {
		t.Errorf("trailer Grpc-Message %q, want %q", got, want)
	}
}

// answer returns a raw server's answer to a stream: a HEADERS frame of fields, then body as one
// DATA frame that ends the stream (none when body is empty, the HEADERS frame ending it), then
// whatever the client sends read to the end.
func answer(body string, fields ...hpack.HeaderField) func(c *h2test.RawServerConn, id uint32) {
	return func(c *h2test.RawServerConn, id uint32) {
		c.WriteHeaders(id, body == "", fields...)
		if body != "" {
			c.Framer().WriteData(id, true, []byte(body))
		}
		c.Drain()
	}
}

// TestMaxHeaderListSize proves that a response's header list is bounded by MaxHeaderListSize as
// RFC 9113 §6.5.2 counts it (name and value lengths plus 32 per field), 64 KiB when it is 0: a
// list of exactly the bound is taken, one a byte above it fails (also when it spans CONTINUATION
// frames).
func TestMaxHeaderListSize(t *testing.T) {
	for _, tc := range []struct {
		name   string
		max    uint32 // Transport.MaxHeaderListSize
		bound  int    // the list size that must be taken
		over   bool   // send bound+1 instead
		wantOK bool
	}{
		{"at the bound", 4096, 4096, false, true},
		{"a byte above", 4096, 4096, true, false},
		{"far above", 4096, 40 << 10, false, false},
		{"default, at the bound", 0, 64 << 10, false, true},
		{"default, a byte above", 0, 64 << 10, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			size := tc.bound
			if tc.over {
				size++
			}
			be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
				h, err := c.Request()
				if err != nil {
					return
				}
				status := hf(":status", "200")
				value := strings.Repeat("v", size-fieldSize(status.Name, status.Value)-fieldSize("x-big", ""))
				answer("", status, hf("x-big", value))(c, h.StreamID)
			})
			tr := newTransport(t, be.Addr())
			tr.MaxHeaderListSize = tc.max
			resp, err := roundTrip(t, tr, newRequest(t, http.MethodGet, be.URL()+"/", nil))
			if tc.wantOK {
				if err != nil {
					t.Errorf("a header list of %d bytes, bound %d: %v", size, tc.bound, err)
				} else if n := len(resp.Header.Get("X-Big")); n != size-fieldSize(":status", "200")-fieldSize("x-big", "") {
					t.Errorf("X-Big of %d bytes", n)
				}
			} else if err == nil {
				t.Errorf("a header list of %d bytes, bound %d, was taken", size, tc.bound)
			}
			if resp != nil {
				resp.Body.Close()
			}
		})
	}
}

// TestClientSettings proves that the transport's first frame is SETTINGS (RFC 9113 §3.4) and
// that it tells the server its header list bound in SETTINGS_MAX_HEADER_LIST_SIZE (§6.5.2), 64 KiB
// when MaxHeaderListSize is 0, so that a server can keep to it.
func TestClientSettings(t *testing.T) {
	for _, tc := range []struct {
		max  uint32
		want uint32
	}{{0, 64 << 10}, {4096, 4096}} {
		t.Run(fmt.Sprint(tc.max), func(t *testing.T) {
			checkGoroutines(t)
			type first struct {
				Settings      bool
				MaxHeaderList uint32
			}
			got := make(chan first, 1)
			be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
				f, err := c.Framer().ReadFrame()
				if err != nil {
					return
				}
				sf, ok := f.(*http2.SettingsFrame)
				if !ok {
					got <- first{}
					return
				}
				v, _ := sf.Value(http2.SettingMaxHeaderListSize)
				got <- first{true, v}
				c.Framer().WriteSettingsAck()
				if h, err := c.Request(); err == nil {
					c.Respond(h.StreamID, "")
				}
				c.Drain()
			})
			tr := newTransport(t, be.Addr())
			tr.MaxHeaderListSize = tc.max
			get(t, tr, be.URL()+"/")
			if diff := cmp.Diff(first{true, tc.want}, waitFor(t, got, "the client's first frame")); diff != "" {
				t.Errorf("the client's first frame (-want +got):\n%s", diff)
			}
		})
	}
}

// holding answers "done"; on /hold it first sends the head and waits for release (or the
// stream's end), keeping the stream open.
func holding(release <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			w.WriteHeader(http.StatusOK)
			http.NewResponseController(w).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "done")
	})
}

// TestCloseIdleConnections proves that CloseIdleConnections closes the connections without an
// open stream (Conns() drops to 0 and the backend sees them closed), and leaves one with a stream
// open, whose exchange then completes.
func TestCloseIdleConnections(t *testing.T) {
	checkGoroutines(t)
	release := make(chan struct{})
	be := startGo(t, holding(release), nil)
	tr := newTransport(t, be.addr)
	get(t, tr, be.url+"/")
	if c := tr.Conns(); c != 1 {
		t.Fatalf("Conns() = %d after a GET, want 1", c)
	}
	tr.CloseIdleConnections()
	if c := tr.Conns(); c != 0 {
		t.Errorf("Conns() = %d after CloseIdleConnections, want 0", c)
	}
	eventually(t, "the backend sees the idle connection closed", func() bool { return be.open.Load() == 0 })

	held := mustRoundTrip(t, tr, newRequest(t, http.MethodGet, be.url+"/hold", nil))
	tr.CloseIdleConnections()
	if c := tr.Conns(); c != 1 {
		t.Errorf("Conns() = %d after CloseIdleConnections with a stream open, want 1", c)
	}
	close(release)
	if b, err := readAll(t, held.Body); err != nil || string(b) != "done" {
		t.Errorf("the held exchange after CloseIdleConnections: %q, %v", b, err)
	}
	held.Body.Close()
}

// TestSweep proves that Sweep closes a connection that has had no stream for longer than
// IdleTimeout, keeps one idle for less, and keeps one with an open stream whatever the time.
func TestSweep(t *testing.T) {
	checkGoroutines(t)
	release := make(chan struct{})
	be := startGo(t, holding(release), &http.HTTP2Config{MaxConcurrentStreams: 1})
	tr := newTransport(t, be.addr)
	tr.IdleTimeout = time.Minute

	// A stream held open on one connection, so that the next GET takes a second one, which then
	// is idle.
	held := mustRoundTrip(t, tr, newRequest(t, http.MethodGet, be.url+"/hold", nil))
	get(t, tr, be.url+"/")
	if c := tr.Conns(); c != 2 {
		t.Fatalf("Conns() = %d, want 2 (one with a stream open, one idle)", c)
	}
	tr.Sweep(time.Now())
	if c := tr.Conns(); c != 2 {
		t.Errorf("Conns() = %d after Sweep(now), want 2: nothing was idle for IdleTimeout yet", c)
	}
	tr.Sweep(time.Now().Add(tr.IdleTimeout + time.Second))
	if c := tr.Conns(); c != 1 {
		t.Errorf("Conns() = %d after Sweep(now+IdleTimeout+1s), want 1: the one with a stream open", c)
	}
	eventually(t, "the backend sees the idle connection closed", func() bool { return be.open.Load() == 1 })

	close(release)
	if b, err := readAll(t, held.Body); err != nil || string(b) != "done" {
		t.Errorf("the held exchange after Sweep: %q, %v", b, err)
	}
	held.Body.Close()
	tr.Sweep(time.Now().Add(tr.IdleTimeout + time.Second))
	if c := tr.Conns(); c != 0 {
		t.Errorf("Conns() = %d after its stream ended and Sweep(now+IdleTimeout+1s), want 0", c)
	}
}

// TestConnectionReused proves that sequential requests reuse one connection rather than dial
// each time.
func TestConnectionReused(t *testing.T) {
	checkGoroutines(t)
	be := startGo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), nil)
	tr := newTransport(t, be.addr)
	for i := range 5 {
		if _, body := get(t, tr, be.url+"/"); body != "ok" {
			t.Fatalf("GET %d: %q", i, body)
		}
	}
	if o, c := be.opened.Load(), tr.Conns(); o != 1 || c != 1 {
		t.Errorf("the backend accepted %d connections, Conns() = %d; want 1 and 1", o, c)
	}
}

// TestBusyAsked checks that a request about to write its HEADERS asks Transport.Busy whether other
// requests are coming, so that theirs may share the write.
func TestBusyAsked(t *testing.T) {
	checkGoroutines(t)
	be := startGo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), nil)
	tr := newTransport(t, be.addr)
	var asked atomic.Int32
	tr.Busy = func() bool { asked.Add(1); return true }
	const requests = 3
	for i := range requests {
		if _, body := get(t, tr, be.url+"/"); body != "ok" {
			t.Fatalf("GET %d: %q", i, body)
		}
	}
	if n := asked.Load(); n < requests {
		t.Errorf("Busy asked %d times for %d requests; want at least once a request", n, requests)
	}
}

// TestUnprocessedWithBodyNotRetried proves that a request with a body that the server refused
// unprocessed (GOAWAY below its stream, or REFUSED_STREAM) is not sent again, its body being
// possibly spent: RoundTrip fails, and no second connection is opened for it; while the same
// refusal of a GET is retried on a new connection.
func TestUnprocessedWithBodyNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name      string
		refuse    func(c *h2test.RawServerConn, id uint32)
		body      bool
		wantRetry bool
	}{
		{"GOAWAY, POST", func(c *h2test.RawServerConn, id uint32) { c.Framer().WriteGoAway(0, http2.ErrCodeNo, nil) }, true, false},
		{"REFUSED_STREAM, POST", func(c *h2test.RawServerConn, id uint32) { c.Framer().WriteRSTStream(id, http2.ErrCodeRefusedStream) }, true, false},
		{"GOAWAY last stream 0, GET", func(c *h2test.RawServerConn, id uint32) { c.Framer().WriteGoAway(0, http2.ErrCodeNo, nil) }, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
				h, err := c.Request()
				if err != nil {
					return
				}
				if c.Index() == 1 {
					tc.refuse(c, h.StreamID)
				} else {
					c.Respond(h.StreamID, "retried")
				}
				c.Drain()
			})
			tr := newTransport(t, be.Addr())
			var body io.Reader
			method := http.MethodGet
			if tc.body {
				body, method = strings.NewReader("payload"), http.MethodPost
			}
			resp, err := roundTrip(t, tr, newRequest(t, method, be.URL()+"/", body))
			if tc.wantRetry {
				if err != nil {
					t.Fatalf("RoundTrip: %v, want it retried", err)
				}
				if b := mustReadAll(t, resp.Body); string(b) != "retried" {
					t.Errorf("body %q, want %q", b, "retried")
				}
				resp.Body.Close()
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Errorf("RoundTrip succeeded: %d", resp.StatusCode)
			}
			if a := be.Accepted(); a != 1 {
				t.Errorf("%d connections accepted, want 1: a request with a body is not retried", a)
			}
		})
	}
}

// TestRequestBodyFailure proves that a request body that does not end as announced (its Read
// fails, or it is shorter or longer than ContentLength) never reaches the backend as a complete
// body: the Go backend's read of it fails, and RoundTrip fails.
func TestRequestBodyFailure(t *testing.T) {
	for _, tc := range []struct {
		name          string
		body          io.Reader
		contentLength int64
	}{
		{"Read fails, unknown length", io.MultiReader(strings.NewReader("partial"), iotestErrReader{}), -1},
		{"Read fails, known length", io.MultiReader(strings.NewReader("partial"), iotestErrReader{}), 100},
		{"shorter than ContentLength", strings.NewReader("partial"), 100},
		{"longer than ContentLength", strings.NewReader("partial"), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGoroutines(t)
			got := make(chan error, 1)
			be := startGo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, err := io.ReadAll(r.Body)
				got <- err
			}), nil)
			tr := newTransport(t, be.addr)
			req := newRequest(t, http.MethodPost, be.url+"/", nil)
			req.Body = io.NopCloser(tc.body)
			req.ContentLength = tc.contentLength
			resp, err := roundTrip(t, tr, req)
			if err == nil {
				resp.Body.Close()
				t.Errorf("RoundTrip succeeded: %d", resp.StatusCode)
			}
			if err := waitFor(t, got, "the backend's read of the body"); err == nil {
				t.Errorf("the backend read the body to a clean end")
			}
		})
	}
}

// iotestErrReader is a Read that fails.
type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, fmt.Errorf("the client went away") }

// TestPingAndSettingsAcknowledged proves that the transport acknowledges the server's SETTINGS
// (RFC 9113 §6.5.3) and answers a PING with a PING ACK of the same payload (§6.7).
func TestPingAndSettingsAcknowledged(t *testing.T) {
	checkGoroutines(t)
	type acks struct {
		Settings bool
		Ping     [8]byte
	}
	payload := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	got := make(chan acks, 1)
	be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		var a acks
		var id uint32
		for {
			f, err := c.Framer().ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					c.Framer().WriteSettingsAck()
				} else if !a.Settings {
					a.Settings = true
					c.Framer().WritePing(false, payload)
				}
			case *http2.PingFrame:
				if f.IsAck() {
					a.Ping = f.Data
					got <- a
				}
			case *http2.MetaHeadersFrame:
				id = f.StreamID
			}
			if id != 0 && a.Ping != [8]byte{} {
				c.Respond(id, "")
				c.Drain()
				return
			}
		}
	})
	tr := newTransport(t, be.Addr())
	get(t, tr, be.URL()+"/")
	if diff := cmp.Diff(acks{true, payload}, waitFor(t, got, "the acknowledgements")); diff != "" {
		t.Errorf("acknowledgements (-want +got):\n%s", diff)
	}
}

// TestWriteTimeout proves that WriteTimeout bounds a write to a backend that stopped reading: a
// request body blocked on a full socket fails the exchange (RoundTrip returns an error), and the
// connection is dropped.
func TestWriteTimeout(t *testing.T) {
	checkGoroutines(t)
	stop := make(chan struct{})
	be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		// Windows so large that only the socket holds the body back.
		c.Framer().WriteWindowUpdate(0, 1<<30)
		if _, err := c.Request(); err != nil {
			return
		}
		<-stop // reads no more
	}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 30})
	t.Cleanup(func() { close(stop) })
	tr := newTransport(t, be.Addr())
	tr.WriteTimeout = 200 * time.Millisecond
	req := newRequest(t, http.MethodPost, be.URL()+"/", io.LimitReader(zeros{}, 1<<30))
	req.ContentLength = -1
	if resp, err := roundTrip(t, tr, req); err == nil {
		resp.Body.Close()
		t.Fatalf("RoundTrip succeeded against a backend that reads nothing")
	}
	eventually(t, "the stalled connection dropped", func() bool { return tr.Conns() == 0 })
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestShortBodyOnTheWire proves, on the frames a raw server reads, that a body shorter than the
// ContentLength it announced (content-length 100, 7 bytes) does not end its stream as if it were
// whole: a request whose DATA do not add up to its content-length is malformed (RFC 9113 §8.1.1),
// so the stream must be reset rather than ended with END_STREAM.
func TestShortBodyOnTheWire(t *testing.T) {
	checkGoroutines(t)
	type ending struct {
		ContentLength string
		Bytes         int
		EndStream     bool // false: an RST_STREAM ended it
	}
	got := make(chan ending, 1)
	be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		h, err := c.Request()
		if err != nil {
			return
		}
		var e ending
		for _, f := range h.RegularFields() {
			if f.Name == "content-length" {
				e.ContentLength = f.Value
			}
		}
		for {
			f, err := c.Next()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.DataFrame:
				e.Bytes += len(f.Data())
				if f.StreamEnded() {
					e.EndStream = true
					got <- e
					answer("", hf(":status", "200"))(c, h.StreamID)
					return
				}
			case *http2.MetaHeadersFrame:
				if f.StreamEnded() {
					e.EndStream = true
					got <- e
					answer("", hf(":status", "200"))(c, h.StreamID)
					return
				}
			case *http2.RSTStreamFrame:
				got <- e
				c.Drain()
				return
			}
		}
	})
	tr := newTransport(t, be.Addr())
	req := newRequest(t, http.MethodPost, be.URL()+"/", nil)
	req.Body = io.NopCloser(strings.NewReader("partial"))
	req.ContentLength = 100
	if resp, err := roundTrip(t, tr, req); err == nil {
		resp.Body.Close()
	}
	if diff := cmp.Diff(ending{"100", 7, false}, waitFor(t, got, "the end of the request's stream")); diff != "" {
		t.Errorf("the request's stream at the server (-want +got):\n%s", diff)
	}
}

// TestPaddedDataCredited proves that padding counts in flow control and is given back (RFC 9113
// §6.1: the whole DATA payload, padding and pad length included, is flow-controlled): a response
// of 10000 DATA frames of one byte and 255 bytes of padding each, 2.5 MiB of window for 10000
// bytes of body, comes through whole from a server that keeps to the client's windows. Were the
// padding not given back, the stream's window would run out after a few thousand frames.
func TestPaddedDataCredited(t *testing.T) {
	checkGoroutines(t)
	const frames = 10000
	be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		// The client's windows, as its SETTINGS and WINDOW_UPDATEs give them.
		var mu sync.Mutex
		cond := sync.NewCond(&mu)
		streamWin, connWin := int64(65535), int64(65535)
		closed := false
		var id uint32
		for id == 0 {
			f, err := c.Framer().ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					if v, ok := f.Value(http2.SettingInitialWindowSize); ok {
						streamWin = int64(v)
					}
					c.Framer().WriteSettingsAck()
				}
			case *http2.WindowUpdateFrame:
				if f.StreamID == 0 {
					connWin += int64(f.Increment)
				}
			case *http2.MetaHeadersFrame:
				id = f.StreamID
			}
		}
		var wmu sync.Mutex // the framer's write side, shared with the reader below
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				f, err := c.Framer().ReadFrame()
				mu.Lock()
				if err != nil {
					closed = true
					cond.Broadcast()
					mu.Unlock()
					return
				}
				switch f := f.(type) {
				case *http2.WindowUpdateFrame:
					if f.StreamID == 0 {
						connWin += int64(f.Increment)
					} else if f.StreamID == id {
						streamWin += int64(f.Increment)
					}
					cond.Broadcast()
				case *http2.PingFrame:
					if !f.IsAck() {
						wmu.Lock()
						c.Framer().WritePing(true, f.Data)
						wmu.Unlock()
					}
				case *http2.SettingsFrame:
					if !f.IsAck() {
						wmu.Lock()
						c.Framer().WriteSettingsAck()
						wmu.Unlock()
					}
				}
				mu.Unlock()
			}
		}()
		defer func() {
			c.Conn().Close()
			<-done
		}()
		wmu.Lock()
		c.WriteHeaders(id, false, hf(":status", "200"), hf("content-length", strconv.Itoa(frames)))
		wmu.Unlock()
		pad := make([]byte, 255)
		const cost = 1 + 1 + 255 // pad length, data, padding
		for i := range frames {
			mu.Lock()
			for !closed && (streamWin < cost || connWin < cost) {
				cond.Wait()
			}
			if closed {
				mu.Unlock()
				return
			}
			streamWin -= cost
			connWin -= cost
			mu.Unlock()
			wmu.Lock()
			err := c.Framer().WriteDataPadded(id, i == frames-1, []byte{'a' + byte(i%26)}, pad)
			wmu.Unlock()
			if err != nil {
				return
			}
		}
		mu.Lock()
		for !closed {
			cond.Wait()
		}
		mu.Unlock()
	})
	tr := newTransport(t, be.Addr())
	resp := mustRoundTrip(t, tr, newRequest(t, http.MethodGet, be.URL()+"/", nil))
	body, err := readAll(t, resp.Body)
	resp.Body.Close()
	if err != nil || len(body) != frames {
		t.Fatalf("body of %d bytes, %v; want %d bytes", len(body), err, frames)
	}
	for i, b := range body {
		if b != 'a'+byte(i%26) {
			t.Fatalf("byte %d is %q, want %q", i, b, 'a'+byte(i%26))
		}
	}
}
