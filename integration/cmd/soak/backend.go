//go:build linux

package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Query parameters that change what a named backend does; the rest of the answer stays the same.
const (
	paramSlow = "slow" // milliseconds to wait before answering
	paramBig  = "big"  // answer with this many bytes instead of the request-target
	paramPace = "pace" // read a request body 32 KiB at a time, pausing this many microseconds after each
)

// backendHeader names the backend that answered.
const backendHeader = "X-Backend"

// namedBackend is a keep-alive HTTP/1.1 server on a free loopback port that names itself in the
// X-Backend header of every answer. The body is the raw request-target, followed for a request with
// a body by a space and the body's length; "?slow=MS" delays the answer, "?big=N" answers with N
// bytes instead and "?pace=US" takes the request body slowly. It never times out a connection
// itself, so what proxyd leaves open stays visible.
type namedBackend struct {
	name string
	addr string
	srv  *http.Server
	// bigWritten counts the bytes of "?big=N" answers written, bigActive those being written.
	bigWritten atomic.Int64
	bigActive  atomic.Int64
	// slowArrived counts the slow requests received; arrived is signalled after each.
	slowArrived atomic.Int64
	arrived     chan struct{}
	// recording makes the backend note every request-target it receives in seen.
	recording atomic.Bool
	seen      sync.Map
}

// h2cWindow is the flow-control window an h2c namedBackend gives each stream and connection: a
// small one, so that a request body comes to it in steps as it reads.
const h2cWindow = 64 << 10

// startNamedBackend starts a namedBackend that speaks HTTP/1.1 and, when h2c, HTTP/2 with prior
// knowledge too (proxyd then forwards to it over h2c).
func startNamedBackend(name string, h2c bool) (*namedBackend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &namedBackend{name: name, addr: ln.Addr().String(), arrived: make(chan struct{}, 1)}
	b.srv = &http.Server{
		Handler:  http.HandlerFunc(b.serve),
		ErrorLog: log.New(io.Discard, "", 0),
		// Longer than any scenario: proxyd's pool, not the backend, must close idle connections.
		IdleTimeout: time.Hour,
	}
	if h2c {
		b.srv.Protocols = new(http.Protocols)
		b.srv.Protocols.SetHTTP1(true)
		b.srv.Protocols.SetUnencryptedHTTP2(true)
		b.srv.HTTP2 = &http.HTTP2Config{MaxReceiveBufferPerStream: h2cWindow, MaxReceiveBufferPerConnection: h2cWindow}
	}
	go b.srv.Serve(ln)
	return b, nil
}

func (b *namedBackend) serve(w http.ResponseWriter, r *http.Request) {
	if b.recording.Load() {
		b.seen.Store(r.RequestURI, true)
	}
	q := r.URL.Query()
	w.Header().Set(backendHeader, b.name)
	if ms, err := strconv.Atoi(q.Get(paramSlow)); err == nil {
		b.slowArrived.Add(1)
		select {
		case b.arrived <- struct{}{}:
		default:
		}
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
	if n, err := strconv.ParseInt(q.Get(paramBig), 10, 64); err == nil {
		b.bigActive.Add(1)
		defer b.bigActive.Add(-1)
		w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
		writeFiller(countingWriter{w, &b.bigWritten}, n)
		return
	}
	body := r.RequestURI
	if r.Method == http.MethodPost {
		pause, _ := strconv.Atoi(q.Get(paramPace))
		n, err := readPaced(r.Body, time.Duration(pause)*time.Microsecond)
		if err != nil {
			return
		}
		body += " " + strconv.FormatInt(n, 10)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	io.WriteString(w, body)
}

// filler is the bytes writeFiller writes, 32 KiB at a time. Read-only.
var filler = bytes.Repeat([]byte{'x'}, 32<<10)

// writeFiller writes n bytes of 'x' to w, stopping at the first error.
func writeFiller(w io.Writer, n int64) {
	for n > 0 {
		k, err := w.Write(filler[:min(n, int64(len(filler)))])
		n -= int64(k)
		if err != nil {
			return
		}
	}
}

// countingWriter adds what it writes to n.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n.Add(int64(k))
	return k, err
}

// readPaced reads body to its end, 32 KiB at a time with a pause after each read, and returns how
// many bytes it read.
func readPaced(body io.Reader, pause time.Duration) (int64, error) {
	if pause <= 0 {
		return io.Copy(io.Discard, body)
	}
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, err := body.Read(buf)
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		time.Sleep(pause)
	}
}

// waitSlow waits until n slow requests have arrived, at most within.
func (b *namedBackend) waitSlow(ctx context.Context, n int64, within time.Duration) bool {
	timer := time.NewTimer(within)
	defer timer.Stop()
	for b.slowArrived.Load() < n {
		select {
		case <-b.arrived:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// received reports whether the backend received a request for target since recording began.
func (b *namedBackend) received(target string) bool {
	_, ok := b.seen.Load(target)
	return ok
}

func (b *namedBackend) close() { b.srv.Close() }

// Names of the three backends and the routes proxyd gets to them.
const (
	nameDefault = "default"
	nameAlpha   = "alpha"
	nameBeta    = "beta"
)

// stack is the three named backends and a proxyd in front of them: /alpha to alpha, /beta to beta,
// everything else to default.
type stack struct {
	backends map[string]*namedBackend
	proxyd   *proxydProc
}

// startStack starts the three backends and proxyd with extra flags, under an open-file limit of
// nofile when it is positive.
func startStack(ctx context.Context, e *env, nofile int, extra ...string) (*stack, error) {
	s := &stack{backends: map[string]*namedBackend{}}
	for _, name := range []string{nameDefault, nameAlpha, nameBeta} {
		b, err := startNamedBackend(name, false)
		if err != nil {
			s.close()
			return nil, err
		}
		s.backends[name] = b
	}
	args := append([]string{
		"-r", "/alpha=" + s.backends[nameAlpha].addr,
		"-r", "/beta=" + s.backends[nameBeta].addr,
	}, extra...)
	p, err := startProxyd(ctx, e, nofile, s.backends[nameDefault].addr, args...)
	if err != nil {
		s.close()
		return nil, err
	}
	s.proxyd = p
	return s, nil
}

// close stops the backends; proxyd is stopped by the scenario, which checks its exit.
func (s *stack) close() {
	for _, b := range s.backends {
		b.close()
	}
}
