package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/netpoll"
	"proxyd.dev/proxyd/internal/routetest"
	"proxyd.dev/router"
)

// TestMain fails the run when any test or benchmark leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Limits of the proxy under test. Tests wait on events (a read, a channel), never on timeouts.
// testTimeout, every timeout of the proxy unless a test of that timeout sets its own of 100 to
// 500 ms, is longer than waitLimit: what a test sees within a wait (an answer, a close) comes from
// the behaviour under test, never from a timeout of the proxy.
const (
	testTimeout          = 30 * time.Second
	testMaxHeaderSize    = 8 << 10
	testBackendIdleConns = 8
	// waitLimit bounds every single wait of a test (a read, an accept, a channel receive), so that
	// a proxy that never answers fails the test instead of hanging it.
	waitLimit = 10 * time.Second
)

// testConfig returns the configuration tests start from: short timeouts, logs into the test output.
func testConfig(t testing.TB, routes *router.Table) Config {
	return Config{
		Routes:                routes,
		HeaderTimeout:         testTimeout,
		IdleTimeout:           testTimeout,
		DialTimeout:           testTimeout,
		ResponseHeaderTimeout: testTimeout,
		TunnelIdleTimeout:     testTimeout,
		MaxHeaderSize:         testMaxHeaderSize,
		BackendIdleConns:      testBackendIdleConns,
		// scripts/test.sh runs the package's tests a second time on ring loops, with
		// PROXYD_TEST_RING_LOOPS=1; any other value, "0" included, leaves them off. The loops
		// serve however few connections are busy.
		RingLoops:     os.Getenv("PROXYD_TEST_RING_LOOPS") == "1",
		RingLoopsBusy: -1,
		Logger:        slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// proxy is a Server under test, serving a loopback listener.
type proxy struct {
	srv  *Server
	addr string
}

// startProxy serves cfg on a fresh loopback listener. Cleanup shuts the server down, which waits
// for every connection goroutine, and checks that Serve returned nil.
func startProxy(t testing.TB, cfg Config) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(cfg)
	if cfg.RingLoops && srv.loops == nil {
		t.Fatal("the ring loops did not start")
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &proxy{srv: srv, addr: ln.Addr().String()}
}

// peer is one end of a raw TCP connection a test drives byte by byte: a client of the proxy, or
// a connection the proxy opened to a scripted backend.
type peer struct {
	t    testing.TB
	conn *net.TCPConn
	br   *bufio.Reader
}

func newPeer(t testing.TB, nc net.Conn) *peer {
	t.Cleanup(func() { nc.Close() })
	return &peer{t: t, conn: nc.(*net.TCPConn), br: bufio.NewReader(nc)}
}

// dial opens a raw client connection to addr.
func dial(t testing.TB, addr string) *peer {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return newPeer(t, nc)
}

// send writes s in one Write.
func (p *peer) send(s string) {
	p.t.Helper()
	p.conn.SetWriteDeadline(time.Now().Add(waitLimit))
	if _, err := io.WriteString(p.conn, s); err != nil {
		p.t.Fatalf("write %.40q: %v", s, err)
	}
}

// receive returns the next value of ch, and fails the test when none comes within waitLimit.
func receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	return h2test.Receive(t, waitLimit, ch, what)
}

// waitFor polls cond, at most waitLimit, until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	h2test.Eventually(t, waitLimit, what, cond)
}

// waitingLifetime returns the lifetime of a client connection over conn that waits for its next
// request (lifetime.beginWait), with conn's RawConn. It belongs to no Server: a test drives it
// alone, as the sweeper (lifetime.check) and the connection's goroutine would.
func waitingLifetime(t testing.TB, conn *net.TCPConn) (*lifetime, syscall.RawConn) {
	t.Helper()
	sock := new(netpoll.Socket)
	if err := sock.Init(conn); err != nil {
		t.Fatal(err)
	}
	l := new(lifetime)
	l.init(nil, sock, nil)
	l.beginWait(true)
	return l, sock.RawConn()
}

// guard bounds the next reads, so that a proxy that never answers fails the test instead of
// hanging it.
func (p *peer) guard() { p.conn.SetReadDeadline(time.Now().Add(waitLimit)) }

// readN reads exactly n bytes.
func (p *peer) readN(n int) string {
	p.t.Helper()
	p.guard()
	buf := make([]byte, n)
	if _, err := io.ReadFull(p.br, buf); err != nil {
		p.t.Fatalf("reading %d bytes: %v (got %q)", n, err, buf)
	}
	return string(buf)
}

// head reads one message head, start line to the empty line.
func (p *peer) head() string {
	p.t.Helper()
	p.guard()
	h, err := readLines(p.br)
	if err != nil {
		p.t.Fatalf("reading head: %v (got %q)", err, h)
	}
	return h
}

// request reads one request, head and body as framed on the wire.
func (p *peer) request() string {
	p.t.Helper()
	return p.message(false, false)
}

// response reads one response to a request that was (headOnly) or was not a HEAD request.
func (p *peer) response(headOnly bool) string {
	p.t.Helper()
	return p.message(true, headOnly)
}

func (p *peer) message(response, headOnly bool) string {
	p.t.Helper()
	p.guard()
	m, err := readMessage(p.br, response, headOnly)
	if err != nil {
		p.t.Fatalf("reading message: %v (got %q)", err, m)
	}
	return m
}

// expectEOF checks that the other side closed the connection: the next read ends without data.
// A reset counts as closed too (the proxy may close with unread bytes of ours).
func (p *peer) expectEOF() {
	p.t.Helper()
	p.guard()
	b, err := p.br.ReadByte()
	switch {
	case err == nil:
		p.t.Fatalf("connection still open: read %q", b)
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
	default:
		p.t.Fatalf("want EOF, got %v", err)
	}
}

// rawBackend is a backend on a loopback listener that counts the connections it accepts and hands
// each to handle, in its own goroutine.
type rawBackend struct {
	t      testing.TB
	ln     net.Listener
	handle func(net.Conn)

	mu       sync.Mutex
	accepted int                 // connections accepted, probes aside
	probes   map[string]chan int // probe connections by local address, see accepts
	conns    []net.Conn
	wg       sync.WaitGroup
}

// startBackend starts a backend that runs handle for every connection. Cleanup closes the
// listener and the connections and waits for the handlers.
func startBackend(t testing.TB, handle func(net.Conn)) *rawBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &rawBackend{t: t, ln: ln, handle: handle, probes: make(map[string]chan int)}
	b.wg.Add(1)
	go b.acceptLoop()
	t.Cleanup(b.close)
	return b
}

func (b *rawBackend) addr() string { return b.ln.Addr().String() }

func (b *rawBackend) acceptLoop() {
	defer b.wg.Done()
	for {
		nc, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		if probe, ok := b.probes[nc.RemoteAddr().String()]; ok {
			probe <- b.accepted
			b.mu.Unlock()
			nc.Close()
			continue
		}
		b.accepted++
		b.conns = append(b.conns, nc)
		b.wg.Add(1)
		b.mu.Unlock()
		go func() {
			defer b.wg.Done()
			b.handle(nc)
		}()
	}
}

// accepts returns how many connections the backend has accepted so far, counting every connection
// whose handshake completed before this call: it dials a probe connection and waits for the
// listener to reach it (the accept queue is first in, first out).
func (b *rawBackend) accepts() int {
	b.t.Helper()
	reached := make(chan int, 1)
	b.mu.Lock() // held while dialling, so that the accept loop looks the probe up only once registered
	nc, err := net.Dial("tcp", b.addr())
	if err != nil {
		b.mu.Unlock()
		b.t.Fatal(err)
	}
	defer nc.Close()
	b.probes[nc.LocalAddr().String()] = reached
	b.mu.Unlock()
	return receive(b.t, reached, "the backend to accept the probe connection")
}

func (b *rawBackend) close() {
	b.ln.Close()
	b.mu.Lock()
	for _, nc := range b.conns {
		nc.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// scriptedBackend is a backend whose connections the test drives itself, one by one.
type scriptedBackend struct {
	*rawBackend
	conns chan net.Conn
}

// startScripted starts a backend that queues its connections for next.
func startScripted(t testing.TB) *scriptedBackend {
	conns := make(chan net.Conn, 64)
	return &scriptedBackend{rawBackend: startBackend(t, func(nc net.Conn) { conns <- nc }), conns: conns}
}

// next returns the next connection the proxy opened to the backend.
func (s *scriptedBackend) next() *peer {
	s.t.Helper()
	return newPeer(s.t, receive(s.t, s.conns, "the proxy to open a connection to the backend"))
}

// expectNoConns checks that no connection to the backend was ever opened.
func (s *scriptedBackend) expectNoConns() {
	s.t.Helper()
	if n := s.accepts(); n != 0 {
		s.t.Errorf("backend accepted %d connections, want none", n)
	}
}

// viaScripted starts a scripted backend, a proxy whose only backend it is (its configuration
// changed by each of tune) and a client connection to the proxy.
func viaScripted(t testing.TB, tune ...func(*Config)) (*scriptedBackend, *peer) {
	t.Helper()
	be := startScripted(t)
	cfg := testConfig(t, routetest.Table(t, be.addr()))
	for _, f := range tune {
		f(&cfg)
	}
	p := startProxy(t, cfg)
	return be, dial(t, p.addr)
}

// startEcho starts a keep-alive backend that answers every request with a 200 response whose
// body is the request exactly as received, and whose X-Backend field is name.
func startEcho(t testing.TB, name string) *rawBackend {
	return startBackend(t, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		for {
			req, err := readMessage(br, false, false)
			if err != nil {
				return
			}
			if _, err := io.WriteString(nc, echoResponse(name, req)); err != nil {
				return
			}
		}
	})
}

// echoResponse is what startEcho's backend name answers to req.
func echoResponse(name, req string) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nX-Backend: %s\r\nContent-Length: %d\r\n\r\n%s", name, len(req), req)
}

// makeBusy makes two exchanges of req on c, the backend's answer to each left to answer (nil: the
// backend answers by itself): after its first wait for a request, a keep-alive connection is busy,
// and the proxy reads its next requests within its waits for them (clientConn.serveWithin).
func makeBusy(c *peer, req string, answer func()) {
	c.t.Helper()
	for range 2 {
		c.send(req)
		if answer != nil {
			answer()
		}
		c.response(false)
	}
}

// followUp is a request sent after an exchange that must leave the connections reusable: its
// answer shows that both are still at a message boundary.
const (
	followUp     = "GET /next HTTP/1.1\r\nHost: example.test\r\n\r\n"
	followUpResp = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"
)

// serveOne plays one exchange whose request the client c has sent: the backend connection b must
// read exactly forwarded, it answers resp, and c must read exactly resp.
func serveOne(t testing.TB, c, b *peer, forwarded, resp string) {
	t.Helper()
	if diff := cmp.Diff(forwarded, b.request()); diff != "" {
		t.Errorf("backend read (-want +got):\n%s", diff)
	}
	b.send(resp)
	if diff := cmp.Diff(resp, c.response(false)); diff != "" {
		t.Errorf("client read (-want +got):\n%s", diff)
	}
}

// hop is bytes that one side sends and that must arrive, exactly, at the other side before the
// next hop starts.
type hop struct {
	up   bool // from the client to the backend; else from the backend to the client
	data string
}

// relayHops plays hops between client c and the backend connection the proxy opens to be for
// the first hop, which goes up, and returns that backend connection.
func relayHops(t testing.TB, be *scriptedBackend, c *peer, hops []hop) *peer {
	t.Helper()
	var b *peer
	for i, h := range hops {
		from, to := c, b
		if !h.up {
			from, to = b, c
		}
		from.send(h.data)
		if b == nil {
			b = be.next()
			to = b
		}
		if diff := cmp.Diff(h.data, to.readN(len(h.data))); diff != "" {
			t.Errorf("hop %d, up %v (-want +got):\n%s", i, h.up, diff)
		}
	}
	return b
}

// answer is the response the proxy writes itself for status, with "Connection: close" when it
// closes the connection after it.
func answer(status int, closing bool) string {
	body := fmt.Sprintf("%d %s\n", status, http.StatusText(status))
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n", status, http.StatusText(status), len(body))
	if closing {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.String()
}

// readLines reads a message head (or a trailer section) byte for byte: lines up to and including
// the first empty line.
func readLines(br *bufio.Reader) (string, error) {
	var b strings.Builder
	for range maxHeadLines {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.String(), err
		}
		if line == "\r\n" {
			return b.String(), nil
		}
	}
	return b.String(), errors.New("head has too many lines")
}

// maxHeadLines bounds the lines readLines reads.
const maxHeadLines = 1000

// readMessage reads one message as framed on the wire: its head, then its body framed by
// Content-Length or chunked coding (chunk lines, extensions and trailers included), or for a
// response, none (1xx, 204, 304, a HEAD request's answer) or everything up to the close.
func readMessage(br *bufio.Reader, response, headOnly bool) (string, error) {
	head, err := readLines(br)
	if err != nil {
		return head, err
	}
	var body []byte
	switch {
	case response && (headOnly || noBodyStatus(head)):
	case strings.EqualFold(field(head, "Transfer-Encoding"), "chunked"):
		body, err = readChunked(br)
	case field(head, "Content-Length") != "":
		n, perr := strconv.Atoi(field(head, "Content-Length"))
		if perr != nil {
			return head, perr
		}
		body = make([]byte, n)
		_, err = io.ReadFull(br, body)
	case response:
		body, err = io.ReadAll(br)
	}
	return head + string(body), err
}

// noBodyStatus reports a response status that never has a body: 1xx, 204 and 304.
func noBodyStatus(head string) bool {
	_, rest, _ := strings.Cut(head, " ")
	status, _, _ := strings.Cut(rest, " ")
	return strings.HasPrefix(status, "1") || status == "204" || status == "304"
}

// field returns the value of the first field called name in head, without surrounding whitespace.
func field(head, name string) string {
	for line := range strings.SplitSeq(head, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// readChunked reads a chunked body verbatim, up to the empty line after its trailers.
func readChunked(br *bufio.Reader) ([]byte, error) {
	var body []byte
	for range maxChunks {
		line, err := br.ReadString('\n')
		body = append(body, line...)
		if err != nil {
			return body, err
		}
		hex, _, _ := strings.Cut(strings.TrimSuffix(line, "\r\n"), ";")
		size, err := strconv.ParseInt(hex, 16, 64)
		if err != nil {
			return body, fmt.Errorf("chunk size line %q: %v", line, err)
		}
		if size == 0 {
			trailer, err := readLines(br)
			return append(body, trailer...), err
		}
		data := make([]byte, size+2)
		_, err = io.ReadFull(br, data)
		body = append(body, data...)
		if err != nil {
			return body, err
		}
	}
	return body, errors.New("too many chunks")
}

// maxChunks bounds the chunks readChunked reads.
const maxChunks = 1 << 20
