package engine

import (
	"bufio"
	"io"
	"net"
	"testing"

	"proxyd.dev/proxyd/internal/forwarded"
	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/proxyd/internal/routetest"
)

// The benchmark exchange: a small GET and its small response, as a browser or API client sends
// it. The targets route to /a and /b.
const (
	benchRequestA = "GET /a/hello HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\n\r\n"
	benchRequestB = "GET /b/hello HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: bench/1.0\r\nAccept: */*\r\n\r\n"
	benchResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!"
)

// startFixed starts a keep-alive backend that answers every body-less request with
// benchResponse, allocating nothing per request.
func startFixed(tb testing.TB) *rawBackend {
	resp := []byte(benchResponse)
	return startBackend(tb, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		for {
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) == 2 { // the empty line ending the head
					break
				}
			}
			if _, err := nc.Write(resp); err != nil {
				return
			}
		}
	})
}

// BenchmarkKeepAliveGet sends small GETs one after another over one keep-alive connection, and
// reads each response before the next request: straight to the backend (the limit), through the
// proxy to one backend, through the proxy alternating between two backends by path, and through
// proxies that count metrics or edit the client-address fields (--forwarded).
func BenchmarkKeepAliveGet(b *testing.B) {
	a, other := startFixed(b), startFixed(b)
	proxyWith := func(tune func(*Config)) string {
		cfg := testConfig(b, routetest.Table(b, a.addr(), "/a="+a.addr(), "/b="+other.addr()))
		tune(&cfg)
		return startProxy(b, cfg).addr
	}
	p := proxyWith(func(*Config) {})
	for _, bc := range []struct {
		name string
		addr string
		reqs []string
	}{
		{"direct", a.addr(), []string{benchRequestA}},
		{"proxy", p, []string{benchRequestA}},
		{"proxy-alternating", p, []string{benchRequestA, benchRequestB}},
		{"proxy-metrics", proxyWith(func(c *Config) { c.Metrics = metrics.New() }), []string{benchRequestA}},
		{"proxy-forwarded", proxyWith(func(c *Config) { c.Forwarded = forwarded.New(nil) }), []string{benchRequestA}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			nc, err := net.Dial("tcp", bc.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			reqs := make([][]byte, len(bc.reqs))
			for i, r := range bc.reqs {
				reqs[i] = []byte(r)
			}
			resp := make([]byte, len(benchResponse))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := nc.Write(reqs[i%len(reqs)]); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(nc, resp); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if string(resp) != benchResponse {
				b.Fatalf("response %q, want %q", resp, benchResponse)
			}
		})
	}
}

// BenchmarkConnectionPerRequest opens a new connection to the proxy for every small GET, which asks
// to close it ("Connection: close"), and reads the response to its end; the proxy's backend
// connection is pooled.
func BenchmarkConnectionPerRequest(b *testing.B) {
	p := startProxy(b, testConfig(b, routetest.Table(b, startFixed(b).addr())))
	req := []byte("GET /a/hello HTTP/1.1\r\nHost: bench.test\r\nConnection: close\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		nc, err := net.Dial("tcp", p.addr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := nc.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadAll(nc); err != nil {
			b.Fatal(err)
		}
		nc.Close()
	}
}
