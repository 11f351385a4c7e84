//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// clientConn is one keep-alive HTTP/1.1 client connection to proxyd. It writes raw bytes, so every
// request is exactly what the scenario built, and reads answers with net/http's parser.
type clientConn struct {
	nc *net.TCPConn
	br *bufio.Reader
}

func dialClient(addr string, timeout time.Duration) (*clientConn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &clientConn{nc: nc.(*net.TCPConn), br: bufio.NewReaderSize(nc, 4096)}, nil
}

func (c *clientConn) close() { c.nc.Close() }

// reply is an answer read to its end.
type reply struct {
	status  int
	backend string
	close   bool // "Connection: close"
	body    []byte
}

// roundTrip writes req and reads the whole answer, both before deadline.
func (c *clientConn) roundTrip(req []byte, deadline time.Time) (*reply, error) {
	c.nc.SetDeadline(deadline)
	if _, err := c.nc.Write(req); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	return c.readReply()
}

// readReply reads one answer, its body to the end (a body cut short is an error).
func (c *clientConn) readReply() (*reply, error) {
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return nil, fmt.Errorf("read head: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read body (%d bytes in): %w", len(body), err)
	}
	return &reply{status: resp.StatusCode, backend: resp.Header.Get(backendHeader), close: resp.Close, body: body}, nil
}

// getRequest is a GET of path.
func getRequest(path string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nHost: soak\r\n\r\n")
}

// postRequest is a POST of path with a body of n bytes, chunked or with a Content-Length.
func postRequest(path string, n int, chunked bool) []byte {
	body := strings.Repeat("b", n)
	if chunked {
		return []byte(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", path, n, body))
	}
	return []byte(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: soak\r\nContent-Length: %d\r\n\r\n%s", path, n, body))
}

// target is a request path and the backend that must answer it.
type target struct {
	path    string
	backend string
}

// mixedTarget is the i-th path of connection conn: the paths cycle through the three backends, also
// through paths that only look like a route ("/alphabet" is not under "/alpha").
func mixedTarget(conn, i int) target {
	switch (conn + i) % 5 {
	case 0:
		return target{fmt.Sprintf("/alpha/c%d/r%d", conn, i), nameAlpha}
	case 1:
		return target{fmt.Sprintf("/beta/c%d/r%d?q=%d", conn, i, i), nameBeta}
	case 2:
		return target{fmt.Sprintf("/c%d/r%d", conn, i), nameDefault}
	case 3:
		return target{fmt.Sprintf("/alphabet/c%d/r%d", conn, i), nameDefault}
	default:
		return target{fmt.Sprintf("/beta?c=%d&r=%d", conn, i), nameBeta}
	}
}

// errWrongBackend marks an answer from another backend than the route's.
var errWrongBackend = errors.New("wrong backend")

// check verifies that an answer to t is a 200 from t's backend with the body the backend sends
// for t (want).
func (t target) check(r *reply, want string) error {
	if r.status != http.StatusOK {
		return fmt.Errorf("%s: status %d, body %q", t.path, r.status, clip(r.body))
	}
	if r.backend != t.backend {
		return fmt.Errorf("%s: %w: answered by %q, want %q", t.path, errWrongBackend, r.backend, t.backend)
	}
	if string(r.body) != want {
		return fmt.Errorf("%s: body %q, want %q", t.path, clip(r.body), want)
	}
	return nil
}

// get sends a GET of t on c and checks the answer.
func (t target) get(c *clientConn, timeout time.Duration) (*reply, error) {
	r, err := c.roundTrip(getRequest(t.path), time.Now().Add(timeout))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.path, err)
	}
	return r, t.check(r, t.path)
}

// post sends a POST of t with an n-byte body on c and checks the answer.
func (t target) post(c *clientConn, n int, chunked bool, timeout time.Duration) (*reply, error) {
	r, err := c.roundTrip(postRequest(t.path, n, chunked), time.Now().Add(timeout))
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", t.path, err)
	}
	return r, t.check(r, t.path+" "+strconv.Itoa(n))
}

func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}

// tally counts requests and their failures across goroutines and keeps the first few error texts.
type tally struct {
	requests atomic.Int64
	errors   atomic.Int64
	wrong    atomic.Int64 // of the errors, answers from the wrong backend
	mu       sync.Mutex
	samples  []string
}

// maxSamples is how many error texts a tally keeps.
const maxSamples = 5

// record counts one request that ended with err (nil: success).
func (t *tally) record(err error) {
	t.requests.Add(1)
	if err == nil {
		return
	}
	t.errors.Add(1)
	if errors.Is(err, errWrongBackend) {
		t.wrong.Add(1)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.samples) < maxSamples {
		t.samples = append(t.samples, err.Error())
	}
}

// summary is "requests=N errors=E wrong-backend=W".
func (t *tally) summary() string {
	return fmt.Sprintf("requests=%d errors=%d wrong-backend=%d", t.requests.Load(), t.errors.Load(), t.wrong.Load())
}

// firstErrors is the kept error texts, for a failure message.
func (t *tally) firstErrors() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.samples, " | ")
}

// checkNoErrors records in r a failure when t counted errors.
func (t *tally) checkNoErrors(r *result, who string) {
	n := t.errors.Load()
	r.check(n == 0, "%s: %d of %d requests failed (first: %s)", who, n, t.requests.Load(), t.firstErrors())
}

// outcomes counts what each of many tries came to, by name; safe for concurrent use.
type outcomes struct {
	mu sync.Mutex
	n  map[string]int
}

// add counts one try that came to k.
func (o *outcomes) add(k string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = make(map[string]int)
	}
	o.n[k]++
}

// String is the counts in name order, "408x200,nonex3", or "-" when nothing was counted.
func (o *outcomes) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.n) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(o.n))
	for k, v := range o.n {
		parts = append(parts, fmt.Sprintf("%sx%d", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}
