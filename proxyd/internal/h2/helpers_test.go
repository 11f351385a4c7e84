package h2

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"proxyd.dev/proxyd/internal/backendset"
	"proxyd.dev/proxyd/internal/bufpool"
	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/router"
)

// TestMain fails the run when a test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Limits of the proxy under test. Tests wait on events, never on timeouts: testTimeout, every
// timeout of the proxy unless a test of that timeout sets its own, is longer than waitLimit.
const (
	testTimeout       = 30 * time.Second
	testMaxHeaderSize = 8 << 10
	waitLimit         = 10 * time.Second
)

// testConfig returns the configuration tests start from.
func testConfig(t testing.TB, routes *router.Table) Config {
	return Config{
		Routes:                routes,
		IdleTimeout:           testTimeout,
		DialTimeout:           testTimeout,
		ResponseHeaderTimeout: testTimeout,
		TunnelIdleTimeout:     testTimeout,
		MaxHeaderSize:         testMaxHeaderSize,
		AccessLog:             true,
		Logger:                slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// testIdleConns bounds the idle connections of each HTTP/1.1 pool of the tests.
const testIdleConns = 8

// withPools gives cfg its HTTP/1.1 pools as the engine does: one per backend address (Pool), closed
// at the end of the test after the server's own cleanup, and new ones for a client connection's own
// backends (NewPool), each with up to maxIdle idle connections.
func withPools(t testing.TB, cfg *Config, maxIdle int) {
	var bufs bufpool.Pool
	dialTimeout := cfg.DialTimeout
	cfg.NewPool = func(addr string) *upstream.Pool { return upstream.NewPool(addr, dialTimeout, maxIdle, &bufs, nil) }
	set := backendset.New(cfg.NewPool, (*upstream.Pool).Close)
	t.Cleanup(set.Close)
	cfg.Pool = set.Get
}

// proxy is a Server under test behind a loopback listener.
type proxy struct {
	srv  *Server
	addr string
	ln   net.Listener
	// served counts the connections served; guarded by mu.
	mu     sync.Mutex
	served int
	// sendBuffer, when not 0, is the socket send buffer of the connections accepted from now on;
	// guarded by mu.
	sendBuffer int
	// conns counts the connections not ended yet (ServeConn calls done at their end).
	conns sync.WaitGroup
	// done is closed when the accept loop has ended.
	done chan struct{}
}

// startProxy serves cfg on a fresh loopback listener, each accepted connection as if the engine had
// handed it over with nothing read; a cfg without pools gets them from withPools. Cleanup shuts the
// server down and checks that it drained.
func startProxy(t testing.TB, cfg Config) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Pool == nil {
		withPools(t, &cfg, testIdleConns)
	}
	p := &proxy{srv: New(cfg), addr: ln.Addr().String(), ln: ln, done: make(chan struct{})}
	go p.acceptLoop()
	stopClock := p.runClock()
	t.Cleanup(func() {
		defer stopClock()
		p.ln.Close()
		<-p.done
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		p.srv.Drain()
		if err := p.srv.Wait(ctx); err != nil {
			t.Errorf("Wait: %v", err)
		}
		p.conns.Wait()
	})
	return p
}

// clockTick is how often the test server's clock checks the streams' response-header timers, as
// the engine's sweeper does for the real one.
const clockTick = 5 * time.Millisecond

// runClock calls CheckStreams every clockTick until the function it returns is called, which
// returns once the clock has stopped.
func (p *proxy) runClock() (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		ticker := time.NewTicker(clockTick)
		defer ticker.Stop()
		for {
			select {
			case <-quit:
				return
			case now := <-ticker.C:
				p.srv.CheckStreams(now)
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}

// acceptLoop serves every accepted connection on a connServer goroutine until the listener closes.
func (p *proxy) acceptLoop() {
	defer close(p.done)
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.served++
		p.mu.Unlock()
		p.conns.Add(1)
		go (&connServer{p: p, conn: nc}).run()
	}
}

// connections returns how many connections the proxy accepted.
func (p *proxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.served
}

// openConns returns how many connections the server is serving.
func (p *proxy) openConns() int {
	p.srv.active.mu.Lock()
	defer p.srv.active.mu.Unlock()
	return len(p.srv.active.conns)
}

// serving yields the connections the server is serving, with its tracker's lock held.
func (p *proxy) serving(yield func(*clientConn) bool) {
	p.srv.active.mu.Lock()
	defer p.srv.active.mu.Unlock()
	for c := range p.srv.active.conns {
		if !yield(c) {
			return
		}
	}
}

// eventually waits, polling, until cond holds, and fails the test when it does not within
// waitLimit.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	h2test.Eventually(t, waitLimit, what, cond)
}

// connServer serves one accepted connection as the engine does after the hand-over.
type connServer struct {
	p    *proxy
	conn net.Conn
}

func (c *connServer) run() {
	c.p.mu.Lock()
	if n := c.p.sendBuffer; n > 0 {
		c.conn.(*net.TCPConn).SetWriteBuffer(n)
	}
	c.p.mu.Unlock()
	raw, err := c.conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		panic(err) // a *net.TCPConn always has one
	}
	c.p.srv.ServeConn(c.conn, raw, nil, c.p.conns.Done)
}

// newClient returns an HTTP/2 client with prior knowledge whose requests time out after waitLimit.
func newClient(t testing.TB) *http.Client { return h2test.NewClient(t, waitLimit) }

// echo describes a request as a backend received it.
type echo struct {
	Backend string
	Proto   string
	Method  string
	Target  string
	Host    string
	Header  http.Header
}

// echoHandler answers every request with an echo naming the backend.
func echoHandler(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(echo{Backend: name, Proto: r.Proto, Method: r.Method, Target: r.RequestURI, Host: r.Host, Header: r.Header})
	}
}

// startH1 starts an HTTP/1.1-only backend.
func startH1(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// startH2C starts a backend that speaks HTTP/1.1 and HTTP/2 with prior knowledge on one port.
func startH2C(t testing.TB, h http.Handler) *httptest.Server {
	srv := unstartedH2C(h)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// unstartedH2C returns a backend as startH2C does, not started yet.
func unstartedH2C(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	return srv
}

// addr returns a backend's host:port.
func addr(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }

// newGet returns a GET for path (sent as written, even where net/url would refuse it) to the proxy.
func newGet(t testing.TB, p *proxy, path string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+p.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	u := targetURL(p.addr, path)
	req.URL = &u
	return req
}

// get sends a GET for path to the proxy and returns the response with its body read.
func get(t testing.TB, c *http.Client, p *proxy, path string) (*http.Response, string) {
	t.Helper()
	return do(t, c, newGet(t, p, path))
}

// do sends req and returns the response with its body read.
func do(t testing.TB, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", req.Method, req.URL, err)
	}
	return resp, string(body)
}

// getEcho sends a GET for path, expects 200 and decodes the echo.
func getEcho(t testing.TB, c *http.Client, p *proxy, path string) echo {
	t.Helper()
	return decodeEcho(t, newGet(t, p, path), c)
}

// decodeEcho sends req, expects 200 and decodes the echo.
func decodeEcho(t testing.TB, req *http.Request, c *http.Client) echo {
	t.Helper()
	resp, body := do(t, c, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: status %d, body %q", req.Method, req.URL, resp.StatusCode, body)
	}
	var e echo
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("%s %s: body %q: %v", req.Method, req.URL, body, err)
	}
	return e
}

// within waits for ch, failing the test after waitLimit.
func within(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("%s did not happen within %v", what, waitLimit)
	}
}

// checkAnswer checks a response proxyd answered itself: the status, a short text body naming it
// and a Content-Length that matches the body.
func checkAnswer(t testing.TB, resp *http.Response, body string, status int) {
	t.Helper()
	want := answerFields{Status: status, Body: fmt.Sprintf("%d %s\n", status, http.StatusText(status)), Length: int64(len(body)), Type: "text/plain; charset=utf-8"}
	got := answerFields{Status: resp.StatusCode, Body: body, Length: resp.ContentLength, Type: resp.Header.Get("Content-Type")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s %s: answer (-want +got):\n%s", resp.Request.Method, resp.Request.URL, diff)
	}
}

// answerFields is what checkAnswer compares.
type answerFields struct {
	Status int
	Body   string
	Length int64
	Type   string
}

// openPost starts a POST to url whose body the test writes as it goes, and returns the response
// (its head received) and the body's writer; cleanup closes both.
func openPost(t testing.TB, url string) (*http.Response, *io.PipeWriter) {
	t.Helper()
	body, w := io.Pipe()
	t.Cleanup(func() { w.Close() })
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, w
}
