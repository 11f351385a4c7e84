package h2

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/routetest"
)

// sentRequest is what a backend sees of a request besides its route.
type sentRequest struct {
	Proto, Host, Cookie, TE, Custom string
	Connection                      []string
}

func forwardedOf(e echo) sentRequest {
	return sentRequest{e.Proto, e.Host, e.Header.Get("Cookie"), e.Header.Get("Te"), e.Header.Get("X-Custom"), e.Header["Connection"]}
}

// TestRequestToEachProtocol checks the request a backend receives per RFC 9113 §8.2 and §8.3:
// :authority as Host, the Cookie fields joined, TE passed only to an h2c backend, fields
// forwarded, each backend reached in the protocol it speaks.
func TestRequestToEachProtocol(t *testing.T) {
	for name, tc := range map[string]struct {
		start func(testing.TB, http.Handler) *httptest.Server
		want  sentRequest
	}{
		"HTTP/1.1 backend": {startH1, sentRequest{Proto: "HTTP/1.1", Host: "example.test", Cookie: "a=1; b=2", Custom: "x"}},
		"h2c backend":      {startH2C, sentRequest{Proto: "HTTP/2.0", Host: "example.test", Cookie: "a=1; b=2", TE: "trailers", Custom: "x"}},
	} {
		t.Run(name, func(t *testing.T) {
			be := tc.start(t, echoHandler("be"))
			p := startProxy(t, testConfig(t, routetest.Table(t, addr(be))))
			req, err := http.NewRequest(http.MethodGet, "http://"+p.addr+"/x", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = "example.test"
			req.Header = http.Header{"Cookie": {"a=1", "b=2"}, "Te": {"trailers"}, "X-Custom": {"x"}}
			e := decodeEcho(t, req, newClient(t))
			if diff := cmp.Diff(tc.want, forwardedOf(e)); diff != "" {
				t.Errorf("forwarded request (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProtocolProbedOnce probes a backend once and remembers the answer: many streams, one probe
// connection besides the transport's own.
func TestProtocolProbedOnce(t *testing.T) {
	be := unstartedH2C(echoHandler("be"))
	var conns atomic.Int32
	be.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	be.Start()
	t.Cleanup(be.Close)
	p := startProxy(t, testConfig(t, routetest.Table(t, addr(be))))
	c := newClient(t)
	for range 5 {
		if e := getEcho(t, c, p, "/x"); e.Proto != "HTTP/2.0" {
			t.Fatalf("request arrived over %s, want HTTP/2.0", e.Proto)
		}
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("the backend saw %d connections, want 2 (the probe and the h2c connection)", n)
	}
}

// TestProtocolRecheckedAfterFailure probes again after a request failed: an HTTP/1.1 backend
// replaced on the same address by an h2c one is then reached over h2c.
func TestProtocolRecheckedAfterFailure(t *testing.T) {
	h1 := httptest.NewUnstartedServer(echoHandler("h1"))
	h1.Start()
	address := addr(h1)
	p := startProxy(t, testConfig(t, routetest.Table(t, address)))
	c := newClient(t)
	if e := getEcho(t, c, p, "/x"); e.Proto != "HTTP/1.1" {
		t.Fatalf("request arrived over %s, want HTTP/1.1", e.Proto)
	}
	h1.Close()
	resp, body := get(t, c, p, "/x")
	checkAnswer(t, resp, body, http.StatusBadGateway)

	h2c := unstartedH2C(echoHandler("h2c"))
	h2c.Listener.Close()
	ln, err := net.Listen("tcp", address)
	if err != nil {
		t.Skipf("address %s taken again meanwhile: %v", address, err)
	}
	h2c.Listener = ln
	h2c.Config.Protocols.SetHTTP1(false)
	h2c.Start()
	t.Cleanup(h2c.Close)
	if e := getEcho(t, c, p, "/x"); e.Proto != "HTTP/2.0" || e.Backend != "h2c" {
		t.Errorf("request reached %s over %s, want h2c over HTTP/2.0", e.Backend, e.Proto)
	}
}
