package integration

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/integration/backend/api"
)

// TestHTTP1ClientToH2CBackend sends HTTP/1.1 requests through proxyd to a backend that speaks
// both HTTP/2 cleartext and HTTP/1.1 on one port.
func TestHTTP1ClientToH2CBackend(t *testing.T) {
	t.Parallel()
	b := startBackend(t, api.ModeH2C, "h2c")
	proxy := startProxy(t, b.addr)
	base := "http://" + proxy
	c := newClient(t)

	t.Run("echo", func(t *testing.T) {
		got := getEcho(t, c, base+"/h2c/echo?x=1")
		want := api.Echo{Backend: "h2c", Method: http.MethodGet, Target: "/h2c/echo?x=1", Proto: "HTTP/1.1"}
		if diff := cmp.Diff(want, got, cmpEchoRoute); diff != "" {
			t.Errorf("echo differs (-want +got):\n%s", diff)
		}
	})
	t.Run("streamed body with trailers", func(t *testing.T) {
		checkTrailers(t, c, base)
	})
	t.Run("h2c upgrade is not passed on", func(t *testing.T) {
		checkH2CUpgradeDropped(t, proxy)
	})
}

// checkTrailers reads the trailers endpoint at base and checks the streamed lines and the
// gRPC-style trailers.
func checkTrailers(t *testing.T, c *http.Client, base string) {
	url := base + api.PathTrailers + "?" + api.QueryChunks + "=" + strconv.Itoa(streamChunks)
	resp, body := get(t, c, url)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, want 200; body %q", url, resp.StatusCode, body)
	}
	if want := streamLines("message", streamChunks); string(body) != want {
		t.Errorf("GET %s: body %q, want %q", url, body, want)
	}
	got := map[string]string{
		api.TrailerStatus:  resp.Trailer.Get(api.TrailerStatus),
		api.TrailerMessage: resp.Trailer.Get(api.TrailerMessage),
	}
	want := map[string]string{api.TrailerStatus: "0", api.TrailerMessage: "ok"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GET %s over %s: trailers differ (-want +got):\n%s", url, resp.Proto, diff)
	}
}

// checkH2CUpgradeDropped sends an HTTP/1.1 request asking to upgrade to h2c over a raw
// connection to addr: proxyd must answer over HTTP/1.1 and the backend must see neither the
// Upgrade nor the HTTP2-Settings header.
func checkH2CUpgradeDropped(t *testing.T, addr string) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dialling %s: %v", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(requestTimeout))
	const target = "/h2c/upgrade"
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade, HTTP2-Settings\r\n"+
		"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n", target, addr)
	resp, body := readResponse(t, bufio.NewReader(conn), http.MethodGet, target)
	if resp.StatusCode != http.StatusOK || resp.Proto != "HTTP/1.1" {
		t.Fatalf("status %d over %s, want 200 over HTTP/1.1; body %q", resp.StatusCode, resp.Proto, body)
	}
	echo := decodeEcho(t, resp, body)
	for _, h := range []string{"Upgrade", "Http2-Settings"} {
		if v, ok := echo.Headers[h]; ok {
			t.Errorf("the backend received %s: %q; want it removed", h, v)
		}
	}
	if v := echo.Headers["Connection"]; v != "" && v != "close" && v != "keep-alive" {
		t.Errorf("the backend received Connection: %q; want the Upgrade and HTTP2-Settings tokens removed", v)
	}
}
