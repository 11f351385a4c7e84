package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/bufpool"
	"proxyd.dev/proxyd/internal/routetest"
	"proxyd.dev/wire"
)

// loopFuzzSeeds are client streams for FuzzRingLoops: exchanges of every framing, pipelined ones,
// closes, upgrades, and the malformed and smuggling heads the proxy refuses.
var loopFuzzSeeds = []string{
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /b/x HTTP/1.1\r\nHost: a\r\n\r\nGET /?q=1 HTTP/1.1\r\nHost: a\r\n\r\nHEAD /b HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST /b/p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /b HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
	"PUT /b HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
	"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\nGET http://a/b/c?d HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
	"GET /b HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n",
	"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
	"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
	"GET /b/%2e%2e/x HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
	"GET / HTTP/1.1\nHost: a\n\n",
	"GET / HTTP/1.1\r\nHost:",
	"GET /b HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHo",
	"POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n\x00\x01garbage",
	"GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("x", testMaxHeaderSize) + "\r\n\r\n", // 431
	// Answers of every kind: chunked, large, without a body, refused.
	"GET /b?f HTTP/1.1\r\nHost: a\r\n\r\nGET /?n=70000 HTTP/1.1\r\nHost: a\r\n\r\nGET /?s=204 HTTP/1.1\r\nHost: a\r\n\r\n",
	"HEAD /b?n=100&f HTTP/1.1\r\nHost: a\r\n\r\nGET /?s=304 HTTP/1.1\r\nHost: a\r\n\r\nPOST /b?s=413 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx",
	"GET /b?s=500&n=20000&f HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
}

// FuzzRingLoops sends the fuzzer's bytes as the whole stream of one client, and then its end, to
// two proxies in front of the same backends, with or without --rewrite: one whose ring loops serve
// every connection from its accept on, one on goroutines alone. Whatever the bytes, the loops must
// answer as the goroutines do, byte for byte, both must end the connection and let go of it, and
// neither may panic. The backends, Go's net/http, answer each request with what they read of it,
// so that a request forwarded differently shows in the answer.
func FuzzRingLoops(f *testing.F) {
	for _, seed := range loopFuzzSeeds {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	routes := routetest.Table(f, startReadBack(f, "a"), "/b="+startReadBack(f, "b"))
	panics := &panicRecorder{}
	start := func(loops, rewrite bool) *proxy {
		cfg := testConfig(f, routes)
		cfg.RingLoops, cfg.Rewrite = loops, rewrite
		cfg.Logger = slog.New(panics)
		return startProxy(f, cfg)
	}
	// The proxies by whether they rewrite.
	type pair struct{ onLoops, onGoroutines *proxy }
	pairs := map[bool]pair{}
	for _, rewrite := range []bool{false, true} {
		pairs[rewrite] = pair{onLoops: start(true, rewrite), onGoroutines: start(false, rewrite)}
	}
	f.Fuzz(func(t *testing.T, in []byte, rewrite bool) {
		// HTTP/2 connections go to goroutines from the loops' first read (mayBeH2), and
		// FuzzClientFrames of internal/h2 fuzzes them. A stream longer than a read of the loops
		// may arrive in parts, which the two proxies then read in other steps.
		if len(in) > maxLoopFuzzStream || bytes.HasPrefix(in, []byte(http2.ClientPreface)) {
			return
		}
		// Where the stream ends within a body, its end races the backend's answer, which may
		// come first (net/http answers an unknown expectation 417 at once): the proxy relays
		// that answer or, seeing the client leave first, gives up the exchange.
		if endsWithinBody(in) {
			return
		}
		p := pairs[rewrite]
		want := wholeAnswer(t, p.onGoroutines, in)
		got := wholeAnswer(t, p.onLoops, in)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("the ring loops answered %q otherwise than goroutines, rewrite %v (-goroutines +loops):\n%s", in, rewrite, diff)
		}
		if entry := panics.first(); entry != "" {
			t.Fatalf("after %q: %s", in, entry)
		}
	})
}

// maxLoopFuzzStream bounds FuzzRingLoops's streams below a read of the proxy, and above its
// largest request head (testMaxHeaderSize).
const maxLoopFuzzStream = bufpool.Size * 3 / 4

// endsWithinBody reports whether stream, its requests framed as the proxy frames them, ends
// within a body. It reports false for a stream that ends within a head, or whose head is malformed.
func endsWithinBody(stream []byte) bool {
	r := wire.NewReader(bytes.NewReader(stream))
	r.Attach(make([]byte, bufpool.Size))
	for {
		var parser wire.RequestParser
		var head wire.RequestHead
		if wire.ReadHead(r, testMaxHeaderSize, func(b []byte) error { return parser.Parse(b, &head) }) != nil {
			return false
		}
		r.Discard(head.Len)
		if _, err := wire.CopyBody(io.Discard, r, head.Body); err != nil {
			return true
		}
	}
}

// wholeAnswer sends in on a new connection to p and then half-closes it, and returns all p sends
// back until it closes the connection, without Date fields, and how the stream ended. It fails
// the test when p does not close it within waitLimit, or keeps the connection once closed.
func wholeAnswer(t *testing.T, p *proxy, in []byte) string {
	t.Helper()
	c := dial(t, p.addr)
	c.conn.SetDeadline(time.Now().Add(waitLimit))
	// A write may fail once the proxy has answered and closed; what it answered still comes.
	if _, err := c.conn.Write(in); err == nil {
		c.conn.CloseWrite()
	}
	out, err := io.ReadAll(c.conn)
	var end string
	switch {
	case err == nil:
		end = "closed"
	case errors.Is(err, syscall.ECONNRESET):
		end = "reset"
	default:
		t.Fatalf("after %q: %v, having read %q", in, err, out)
	}
	c.conn.Close()
	waitFor(t, "the proxy lets go of the connection", func() bool { return tracked(p) == 0 })
	return fmt.Sprintf("%s\n(%s)", dateField.ReplaceAll(out, nil), end)
}

// dateField matches the Date fields of net/http's answers, which two answers to the same request
// may not share: the proxy adds none.
var dateField = regexp.MustCompile(`(?m)^Date: [^\r\n]*\r\n`)

// startReadBack starts a backend, Go's net/http server, that answers every request with what it
// read of it: the request line, the host, the header fields in the order of their names, the body
// and the trailers. The query shapes the answer, so that the fuzzer reaches every way the proxy
// relays one: s=N its status (200 to 599), n=N that many more bytes of body (at most
// maxReadBackBody), and f a flush halfway, which makes the rest of the body chunked unless the
// status has none. It returns its address.
func startReadBack(t testing.TB, name string) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s %s\nHost %q\n", r.Method, r.RequestURI, r.Proto, r.Host)
		for _, k := range slices.Sorted(maps.Keys(r.Header)) {
			fmt.Fprintf(&b, "%s: %q\n", k, r.Header[k])
		}
		fmt.Fprintf(&b, "body %q, %v\n", body, err)
		for _, k := range slices.Sorted(maps.Keys(r.Trailer)) {
			fmt.Fprintf(&b, "trailer %s: %q\n", k, r.Trailer[k])
		}
		q := r.URL.Query()
		if n, err := strconv.Atoi(q.Get("n")); err == nil {
			b.WriteString(strings.Repeat("x", min(max(n, 0), maxReadBackBody)))
		}
		w.Header().Set("X-Backend", name)
		if s, err := strconv.Atoi(q.Get("s")); err == nil && s >= 200 && s < 600 {
			w.WriteHeader(s)
		}
		answer := b.String()
		if q.Has("f") {
			io.WriteString(w, answer[:len(answer)/2])
			w.(http.Flusher).Flush()
			answer = answer[len(answer)/2:]
		}
		io.WriteString(w, answer)
	}))
	// OPTIONS * goes to the handler too, as every other request does.
	srv.Config.DisableGeneralOptionsHandler = true
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// maxReadBackBody bounds the body startReadBack adds for n=N: past a read of the proxy, less than
// a socket's buffers hold.
const maxReadBackBody = 256 << 10

// panicRecorder is a slog.Handler that keeps the first log entry of a recovered panic and drops
// every other entry.
type panicRecorder struct {
	mu    sync.Mutex
	entry string
}

func (h *panicRecorder) Enabled(_ context.Context, level slog.Level) bool {
	return level >= slog.LevelError
}

func (h *panicRecorder) Handle(_ context.Context, r slog.Record) error {
	if !strings.Contains(r.Message, "panicked") {
		return nil
	}
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.entry == "" {
		h.entry = b.String()
	}
	return nil
}

func (h *panicRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *panicRecorder) WithGroup(string) slog.Handler      { return h }

// first returns the first panic's log entry, or "" when none was logged.
func (h *panicRecorder) first() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.entry
}
