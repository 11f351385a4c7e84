package integration

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/integration/backend/api"
)

// TestRouteEscapes sends paths that a backend decodes or normalises into another path, and checks
// that proxyd routes each by what the backend (Go's net/http here) will make of it: encoded
// unreserved characters and repeated slashes reach the route the backend sees; ambiguous paths,
// other schemes and CONNECT are answered by proxyd itself and reach no backend.
func TestRouteEscapes(t *testing.T) {
	t.Parallel()
	d := startBackend(t, api.ModeHTTP1, "D")
	a := startBackend(t, api.ModeHTTP1, "A")
	routed := []struct {
		target, backend string
		path            string // the path the backend decodes, without --rewrite
		rewritten       string // the request-target A sees with --rewrite
	}{
		{"/%61pi/x", "A", "/api/x", "/x"},
		{"//api/x", "A", "//api/x", "/x"}, // Go's ServeMux redirects it to /api/x; nginx merges the slashes

		{"/api//x?q=%2F", "A", "/api//x", "//x?q=%2F"},
		{"/ap%69", "A", "/api", "/"},
		{"/api%2Fx", "D", "/api/x", "/api%2Fx"}, // %2F is an ordinary character by default
		{"/apiary", "D", "/apiary", "/apiary"},
	}
	refused := []struct {
		method, target string
		status         int
	}{
		{"GET", "/api/..;/admin", 400},
		{"GET", "/api/%2e%2e;x=1/admin", 400},
		{"GET", "/api/..%5cadmin", 400},
		{"GET", `/api\x`, 400},
		{"GET", "ws://h/api/x", 400},
		{"GET", "ftp://h/api/x", 400},
		{"GET", "http:/api/x", 400},
		{"CONNECT", "example.test:443", 405},
	}
	for _, rewrite := range []bool{false, true} {
		t.Run(fmt.Sprintf("rewrite=%v", rewrite), func(t *testing.T) {
			t.Parallel()
			args := []string{"-r", "/api=" + a.addr}
			if rewrite {
				args = append(args, "--rewrite")
			}
			proxy := startProxy(t, d.addr, args...)
			for _, r := range routed {
				resp, body := rawExchange(t, proxy, "GET", r.target)
				got := decodeEcho(t, resp, body)
				want := api.Echo{Backend: r.backend, Method: "GET", Target: r.target, Proto: "HTTP/1.1"}
				if rewrite && r.backend == "A" {
					want.Target = r.rewritten
				}
				if diff := cmp.Diff(want, got, cmpEchoRoute); diff != "" {
					t.Errorf("%s (-want +got):\n%s", r.target, diff)
				}
				if !rewrite && got.Path != r.path {
					t.Errorf("%s: the backend decoded the path to %q, want %q", r.target, got.Path, r.path)
				}
			}
			for _, r := range refused {
				resp, body := rawExchange(t, proxy, r.method, r.target)
				checkProxyError(t, resp, body, r.status)
				if r.status == 405 && resp.Header.Get("Allow") == "" {
					t.Errorf("405 to %s without an Allow field", r.method)
				}
			}
		})
	}
}

// rawExchange sends one request with the target written exactly as given, on a new connection,
// and reads the response.
func rawExchange(t *testing.T, proxy, method, target string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", proxy)
	if err != nil {
		t.Fatalf("dialling proxyd at %s: %v", proxy, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(requestTimeout))
	if _, err := fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: example.test\r\n\r\n", method, target); err != nil {
		t.Fatalf("writing %s %s: %v", method, target, err)
	}
	return readResponse(t, bufio.NewReader(conn), method, target)
}
