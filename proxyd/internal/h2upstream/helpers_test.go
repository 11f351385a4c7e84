package h2upstream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2/hpack"

	"proxyd.dev/proxyd/internal/h2/h2test"
)

// waitLimit bounds every wait of these tests: a wait that runs out fails the test with a message.
// Tests wait on events, never on the clock.
const waitLimit = 10 * time.Second

// checkGoroutines, called first in a test, fails the test when, once every cleanup registered
// after it has run (the transport closed, the servers stopped), the number of goroutines does not
// come back to what it was when the test started.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(waitLimit)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines %v after the test, %d before it:\n%s", n, waitLimit, before, buf)
				return
			}
			time.Sleep(5 * time.Millisecond) // a poll of a bounded wait, not a synchronisation
		}
	})
}

// eventually waits, polling, until cond holds, and fails the test when it does not within
// waitLimit.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	h2test.Eventually(t, waitLimit, what, cond)
}

// waitFor waits for ch to be closed (or to deliver) and fails the test when it is not within
// waitLimit.
func waitFor[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	return h2test.Receive(t, waitLimit, ch, what)
}

// bounded runs f on a goroutine of its own and fails the test when f does not return within
// waitLimit. f must report failures with t.Error, not t.Fatal.
func bounded(t testing.TB, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	waitFor(t, done, what)
}

// newTransport returns a Transport whose Dial reaches addr. Cleanup closes its idle connections
// and checks that none is left: a test closes every response body it opens.
func newTransport(t testing.TB, addr string) *Transport {
	t.Helper()
	tr := &Transport{Dial: dialer(addr)}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		deadline := time.Now().Add(waitLimit)
		for tr.Conns() != 0 {
			if time.Now().After(deadline) {
				t.Errorf("Conns() = %d %v after CloseIdleConnections at the end of the test, want 0", tr.Conns(), waitLimit)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	return tr
}

// dialer returns a Dial that opens a TCP connection to addr.
func dialer(addr string) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}

// newRequest returns a request for url whose context ends after waitLimit (so that no exchange of
// a failing test outlives the test), or when the test ends.
func newRequest(t testing.TB, method, url string, body io.Reader) *http.Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// roundTrip runs tr.RoundTrip(req), failing the test when it does not return within waitLimit.
func roundTrip(t testing.TB, tr *Transport, req *http.Request) (*http.Response, error) {
	t.Helper()
	type result struct {
		resp *http.Response
		err  error
	}
	limit := waitLimit + 5*time.Second // longer than the request's own context
	r, ok := await(limit, func() result {
		resp, err := tr.RoundTrip(req)
		return result{resp, err}
	})
	if !ok {
		t.Fatalf("%s %s: RoundTrip did not return within %v", req.Method, req.URL, limit)
	}
	if r.err == nil && r.resp == nil {
		t.Fatalf("%s %s: RoundTrip returned neither a response nor an error", req.Method, req.URL)
	}
	if r.resp != nil {
		t.Cleanup(func() { r.resp.Body.Close() })
	}
	return r.resp, r.err
}

// await runs f on a goroutine of its own and returns its result, or false when f does not return
// within limit (the goroutine then ends when f does).
func await[T any](limit time.Duration, f func() T) (T, bool) {
	ch := make(chan T, 1)
	go func() { ch <- f() }()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v, true
	case <-timer.C:
		var zero T
		return zero, false
	}
}

// mustRoundTrip is roundTrip for an exchange that must succeed.
func mustRoundTrip(t testing.TB, tr *Transport, req *http.Request) *http.Response {
	t.Helper()
	resp, err := roundTrip(t, tr, req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return resp
}

// readAll reads r to its end, failing the test when that does not happen within waitLimit (r is
// then closed, if it is a Closer, to end the read).
func readAll(t testing.TB, r io.Reader) ([]byte, error) {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	res, ok := await(waitLimit, func() result {
		b, err := io.ReadAll(r)
		return result{b, err}
	})
	if !ok {
		if c, ok := r.(io.Closer); ok {
			c.Close()
		}
		t.Fatalf("reading a body: no end within %v", waitLimit)
	}
	return res.b, res.err
}

// mustReadAll is readAll for a body that must end cleanly.
func mustReadAll(t testing.TB, r io.Reader) []byte {
	t.Helper()
	b, err := readAll(t, r)
	if err != nil {
		t.Fatalf("reading a body: %v", err)
	}
	return b
}

// get does a GET of url and returns the response with its body read and closed.
func get(t testing.TB, tr *Transport, url string) (*http.Response, string) {
	t.Helper()
	resp := mustRoundTrip(t, tr, newRequest(t, http.MethodGet, url, nil))
	body := mustReadAll(t, resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// randomBytes returns n bytes of a fixed pseudo-random sequence, different for every seed.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	r.Read(b)
	return b
}

// hashOf returns the SHA-256 of b in hexadecimal.
func hashOf(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

// gate lets n handlers through together: Wait returns true once n callers are waiting, false when
// that does not happen within half of waitLimit (so that the handlers answer, and the test
// reports the requests' errors, before the test's own waits run out) or when ctx ends first.
type gate struct {
	n       int
	mu      sync.Mutex
	arrived int
	max     int // the most callers that were waiting at once
	open    chan struct{}
}

func newGate(n int) *gate { return &gate{n: n, open: make(chan struct{})} }

func (g *gate) Wait(ctx context.Context) bool {
	g.mu.Lock()
	g.arrived++
	g.max = max(g.max, g.arrived)
	if g.arrived == g.n {
		close(g.open)
	}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.arrived--
		g.mu.Unlock()
	}()
	select {
	case <-g.open:
		return true
	case <-ctx.Done():
		return false
	case <-time.After(waitLimit / 2):
		return false
	}
}

// startGated serves h2c (cfg as startGo's) with handlers that answer with the request's path once
// g has opened, 503 when it gives up; a request for /warm is answered without waiting.
func startGated(t testing.TB, g *gate, cfg *http.HTTP2Config) *goServer {
	return startGo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/warm" && !g.Wait(r.Context()) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, r.URL.Path)
	}), cfg)
}

// most returns the most callers that were waiting at once.
func (g *gate) most() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.max
}

// goServer is a Go net/http server of HTTP/2 with prior knowledge (h2c) on a loopback listener.
type goServer struct {
	addr string
	url  string // "http://" + addr
	// opened counts the connections accepted, open those not closed yet.
	opened, open atomic.Int32
}

// startGo serves h over h2c with prior knowledge; cfg, when not nil, is the server's HTTP/2
// configuration. Cleanup closes the server and its connections.
func startGo(t testing.TB, h http.Handler, cfg *http.HTTP2Config) *goServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &goServer{addr: ln.Addr().String(), url: "http://" + ln.Addr().String()}
	logs := &testLog{t: t}
	srv := &http.Server{Handler: h, HTTP2: cfg, ErrorLog: log.New(logs, "backend: ", 0)}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	srv.Protocols = &p
	srv.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.opened.Add(1)
			s.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.open.Add(-1)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
		logs.stop()
	})
	return s
}

// testLog writes a server's log lines to the test's log until the test stops it.
type testLog struct {
	t       testing.TB
	mu      sync.Mutex
	stopped bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.t.Logf("%s", bytes.TrimSuffix(p, []byte("\n")))
	}
	return len(p), nil
}

func (l *testLog) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}

// hf is a header field.
func hf(name, value string) hpack.HeaderField { return hpack.HeaderField{Name: name, Value: value} }

// literal hand-encodes a header field as an HPACK literal without indexing with a new name (RFC
// 7541 §6.2.2), name and value as given, without Huffman coding; both are shorter than 127 bytes.
func literal(name, value string) []byte {
	b := []byte{0x00, byte(len(name))}
	b = append(b, name...)
	b = append(b, byte(len(value)))
	return append(b, value...)
}

// fieldSize is the size of a header field as RFC 9113 §6.5.2 counts it for
// SETTINGS_MAX_HEADER_LIST_SIZE.
func fieldSize(name, value string) int { return len(name) + len(value) + 32 }

// opError reports whether err holds a *net.OpError whose Op is op.
func opError(err error, op string) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == op
}

// Conns returns how many connections are open (a test's view; proxyd does not ask).
func (t *Transport) Conns() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}
