package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/routetest"
)

// logBuffer collects log output written from many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// accessRecord is an access log line; Duration is checked apart.
type accessRecord struct {
	Method   string `json:"method"`
	Target   string `json:"target"`
	Backend  string `json:"backend"`
	Status   int    `json:"status"`
	Bytes    int64  `json:"bytes"`
	Duration int64  `json:"duration"`
}

// withAccessLog turns the access log on, as JSON into buf.
func withAccessLog(buf *logBuffer) func(*Config) {
	return func(cfg *Config) {
		cfg.AccessLog = true
		cfg.Logger = slog.New(slog.NewJSONHandler(buf, nil))
	}
}

// loggedRig is a scripted backend behind a proxy that writes its access log into buf, and a
// client connection to the proxy.
type loggedRig struct {
	be  *scriptedBackend
	p   *proxy
	c   *peer
	buf logBuffer
}

// startLogged starts a loggedRig.
func startLogged(t *testing.T) *loggedRig {
	r := &loggedRig{be: startScripted(t)}
	cfg := testConfig(t, routetest.Table(t, r.be.addr()))
	withAccessLog(&r.buf)(&cfg)
	r.p = startProxy(t, cfg)
	r.c = dial(t, r.p.addr)
	return r
}

// log shuts the proxy down and returns its access log lines (see accessLog).
func (r *loggedRig) log(t *testing.T) []accessRecord { return accessLog(t, r.p, &r.buf) }

// accessLog shuts p down, so that every connection has logged its exchanges, and returns the
// access log lines in buf; each must have a positive duration.
func accessLog(t *testing.T, p *proxy, buf *logBuffer) []accessRecord {
	t.Helper()
	if err := p.srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	buf.mu.Lock()
	defer buf.mu.Unlock()
	var records []accessRecord
	for line := range strings.SplitSeq(strings.TrimSpace(buf.buf.String()), "\n") {
		var r struct {
			Msg string `json:"msg"`
			accessRecord
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r.Msg != "request" {
			continue
		}
		if r.Duration <= 0 {
			t.Errorf("duration %d in %s", r.Duration, line)
		}
		r.Duration = 0
		records = append(records, r.accessRecord)
	}
	return records
}

// TestAccessLog logs one line per request, answered by a backend or by the proxy itself, with
// its method, target, backend, status and response body bytes.
func TestAccessLog(t *testing.T) {
	var buf logBuffer
	api, def, down := startEcho(t, "api"), startEcho(t, "default"), loopback.ClosedAddr(t)
	cfg := testConfig(t, routetest.Table(t, def.addr(), "/api="+api.addr(), "/down="+down))
	withAccessLog(&buf)(&cfg)
	p := startProxy(t, cfg)

	const (
		get  = "GET /api/users?page=2 HTTP/1.1\r\nHost: example.test\r\n\r\n"
		post = "POST /other HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nhello"
		fail = "GET /down/x HTTP/1.1\r\nHost: example.test\r\n\r\n"
		bad  = "GET /a/../b HTTP/1.1\r\nHost: example.test\r\n\r\n"
	)
	c := dial(t, p.addr)
	for _, req := range []string{get, post, fail, bad} {
		c.send(req)
		c.response(false)
	}
	c.expectEOF()
	c.conn.Close() // ends the proxy's lingering close after the 400
	want := []accessRecord{
		{Method: "GET", Target: "/api/users?page=2", Backend: api.addr(), Status: 200, Bytes: int64(len(get))},
		{Method: "POST", Target: "/other", Backend: def.addr(), Status: 200, Bytes: int64(len(post))},
		{Method: "GET", Target: "/down/x", Backend: down, Status: 502},
		{Method: "GET", Target: "/a/../b", Backend: def.addr(), Status: 400},
	}
	if diff := cmp.Diff(want, accessLog(t, p, &buf)); diff != "" {
		t.Errorf("access log (-want +got):\n%s", diff)
	}
}

// TestAccessLogClientGone logs 499 for a client that leaves in the middle of a response: of a
// Content-Length body, noticed when the next bytes cannot be written, and of an event stream,
// noticed while the stream is silent (the backend connection is then closed).
func TestAccessLogClientGone(t *testing.T) {
	const (
		sse   = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
		event = "d\r\ndata: first\n\n\r\n"
		size  = 8 << 20
	)
	for _, tc := range []struct {
		name  string
		head  string
		first string // body bytes sent before the client leaves
		rest  func(b *peer)
		bytes int64 // response body bytes logged
		// anyBytes leaves the logged byte count unchecked: it depends on when the write fails.
		anyBytes bool
	}{{
		name:  "content-length",
		head:  "HTTP/1.1 200 OK\r\nContent-Length: 8388608\r\n\r\n",
		first: "first bytes",
		rest: func(b *peer) {
			// Write the rest until the proxy, failing to pass it on, closes the connection.
			piece := make([]byte, 64<<10)
			for sent := len("first bytes"); sent < size; sent += len(piece) {
				if _, err := b.conn.Write(piece[:min(len(piece), size-sent)]); err != nil {
					return
				}
			}
		},
		anyBytes: true,
	}, {
		name:  "event stream",
		head:  sse,
		first: event,
		rest:  func(b *peer) { b.expectEOF() },
		bytes: int64(len(event)),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := startLogged(t)
			be, c := r.be, r.c
			c.send("GET /long HTTP/1.1\r\nHost: example.test\r\n\r\n")
			b := be.next()
			b.request()
			b.send(tc.head + tc.first)
			c.readN(len(tc.head) + len(tc.first))
			c.conn.SetLinger(0)
			c.conn.Close()
			tc.rest(b)

			got := r.log(t)
			want := []accessRecord{{Method: "GET", Target: "/long", Backend: be.addr(), Status: 499, Bytes: tc.bytes}}
			var opts []cmp.Option
			if tc.anyBytes {
				opts = append(opts, cmpopts.IgnoreFields(accessRecord{}, "Bytes"))
			}
			if diff := cmp.Diff(want, got, opts...); diff != "" {
				t.Errorf("access log (-want +got):\n%s", diff)
			}
		})
	}
}
