package h2

import (
	"bufio"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/forwarded"
	"proxyd.dev/proxyd/internal/proxyproto"
	"proxyd.dev/proxyd/internal/routetest"
)

// TestForwarded tells each backend the client's address with --forwarded, in the protocol the
// backend speaks; the fields the client sent are replaced.
func TestForwarded(t *testing.T) {
	h1 := startH1(t, echoHandler("h1"))
	h2c := startH2C(t, echoHandler("h2c"))
	cfg := testConfig(t, routetest.Table(t, addr(h2c), "/api="+addr(h1)))
	cfg.Forwarded = forwarded.New(nil)
	p := startProxy(t, cfg)
	c := newClient(t)
	for _, path := range []string{"/api/x", "/other"} {
		req := newGet(t, p, path)
		req.Header.Set("X-Forwarded-For", "6.6.6.6")
		req.Header.Set("Forwarded", "for=6.6.6.6")
		e := decodeEcho(t, req, c)
		got := map[string][]string{}
		for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "Forwarded"} {
			got[k] = e.Header.Values(k)
		}
		want := map[string][]string{
			"X-Forwarded-For":   {"127.0.0.1"},
			"X-Forwarded-Proto": {"http"},
			"Forwarded":         {"for=127.0.0.1;proto=http"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: fields at the backend (-want +got):\n%s", path, diff)
		}
	}
}

// proxiedListener reads the PROXY protocol version 1 header that starts every connection it
// accepts, and keeps them.
type proxiedListener struct {
	net.Listener
	mu      sync.Mutex
	headers []string
}

func (l *proxiedListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		br := bufio.NewReader(conn)
		line, err := br.ReadString('\n')
		if err != nil {
			conn.Close()
			continue
		}
		l.mu.Lock()
		l.headers = append(l.headers, line)
		l.mu.Unlock()
		return &bufferedConn{Conn: conn, r: br}, nil
	}
}

// seen returns the headers read so far.
func (l *proxiedListener) seen() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.headers...)
}

// bufferedConn reads through the reader that read the header.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// TestProxyProtocol starts every backend connection, the protocol probe's too, with a PROXY
// protocol header naming the client connection whose streams it carries; another client
// connection gets connections of its own.
func TestProxyProtocol(t *testing.T) {
	for _, h2c := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP/1.1 backend", true: "h2c backend"}[h2c], func(t *testing.T) {
			be := httptest.NewUnstartedServer(echoHandler("be"))
			if h2c {
				be = unstartedH2C(echoHandler("be"))
			}
			ln := &proxiedListener{Listener: be.Listener}
			be.Listener = ln
			be.Start()
			t.Cleanup(be.Close)
			cfg := testConfig(t, routetest.Table(t, addr(be)))
			cfg.ProxyProtocol = proxyproto.V1
			p := startProxy(t, cfg)

			ports := map[string]bool{}
			for range 2 {
				c := newClient(t) // a client connection of its own
				getEcho(t, c, p, "/a")
				getEcho(t, c, p, "/b")
				headers := ln.seen()
				last := strings.Fields(headers[len(headers)-1])
				if len(last) != 6 || last[0] != "PROXY" || last[1] != "TCP4" || last[2] != "127.0.0.1" || net.JoinHostPort(last[3], last[5]) != p.addr {
					t.Fatalf("header %q: want PROXY TCP4 127.0.0.1 <proxy address>", headers[len(headers)-1])
				}
				ports[last[4]] = true
			}
			if len(ports) != 2 {
				t.Errorf("two client connections were sent with the source ports %v, want two", ports)
			}
			for _, h := range ln.seen() {
				if !strings.HasPrefix(h, "PROXY TCP4 127.0.0.1 ") {
					t.Errorf("a backend connection started with %q, not a PROXY header", h)
				}
			}
		})
	}
}
