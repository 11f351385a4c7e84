package h2

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/textproto"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/metrics"
)

// rawBackend is an HTTP/1.1 backend scripted byte by byte, for what Go's server never sends and
// for looking at the bytes proxyd sends. Every connection it accepts, but the protocol probe's
// (closed as soon as its preface shows), is served by serve on a goroutine of its own (see
// h2test.Listener).
type rawBackend struct {
	*h2test.Listener
	serve func(*rawConn)
	// served counts the connections served, the probe's not included.
	served atomic.Int32
}

// startRaw starts a raw backend whose connections serve serves.
func startRaw(t testing.TB, serve func(*rawConn)) *rawBackend {
	t.Helper()
	b := &rawBackend{serve: serve}
	b.Listener = h2test.Listen(t, func(nc net.Conn, _ int) { b.handle(nc) })
	return b
}

func (b *rawBackend) addr() string { return b.Addr() }

// probeLine is how the protocol probe's connection starts.
const probeLine = "PRI * HTTP/2.0"

// handle closes the probe's connection (the probe then takes the backend for HTTP/1.1 at once),
// and serves any other.
func (b *rawBackend) handle(nc net.Conn) {
	br := bufio.NewReader(nc)
	if first, err := br.Peek(len(probeLine)); err != nil || string(first) == probeLine {
		return
	}
	b.serve(&rawConn{Conn: nc, br: br, index: int(b.served.Add(1))})
}

// rawConn is one connection a raw backend serves.
type rawConn struct {
	net.Conn
	br    *bufio.Reader
	index int // 1 for the first connection served, and so on
}

// rawRequest is a request as a raw backend read it: its head as sent, and its body and trailer
// fields decoded from the framing the head announced.
type rawRequest struct {
	Head    string
	Body    string
	Trailer textproto.MIMEHeader
}

// read reads the next request; ok is false when the connection ended (or failed) first.
func (c *rawConn) read() (req rawRequest, ok bool) {
	req.Head, ok = readHeadOnly(c)
	if !ok {
		return rawRequest{}, false
	}
	fields, err := textproto.NewReader(bufio.NewReader(strings.NewReader(req.Head[strings.Index(req.Head, "\n")+1:]))).ReadMIMEHeader()
	if err != nil {
		return rawRequest{}, false
	}
	var body []byte
	switch {
	case fields.Get("Transfer-Encoding") == "chunked":
		body, err = io.ReadAll(httputil.NewChunkedReader(c.br))
		if err == nil {
			req.Trailer, err = textproto.NewReader(c.br).ReadMIMEHeader()
		}
	case fields.Get("Content-Length") != "":
		n, _ := strconv.Atoi(fields.Get("Content-Length"))
		body = make([]byte, n)
		_, err = io.ReadFull(c.br, body)
	}
	req.Body = string(body)
	return req, err == nil
}

// send writes s, ignoring failures: a test that needs the bytes to arrive checks what the client
// received.
func (c *rawConn) send(s string) { io.WriteString(c.Conn, s) }

// scrape returns the metrics of m in the Prometheus text format.
func scrape(t testing.TB, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	text, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

// failureLine is the metrics line of one backend failure count.
func failureLine(backend string, c metrics.Cause, n int) string {
	return `proxyd_backend_failures_total{backend="` + backend + `",cause="` + c.String() + `",code="` + strconv.Itoa(c.Code()) + `"} ` + strconv.Itoa(n) + "\n"
}
