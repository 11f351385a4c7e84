package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/integration/backend/api"
)

// route is one request of the routing tests and where it must arrive.
type route struct {
	// target is the request-target the client sends.
	target string
	// backend is the name of the backend that must answer.
	backend string
	// rewritten is the target that backend must see with --rewrite; without it, target.
	rewritten string
}

// TestRoutingPerRequest sends requests for different routes over one keep-alive connection,
// with and without --rewrite, and with and without ring loops (whose loops serve every request
// after a connection's first), and checks that each one reaches its own backend with the right
// request-target.
func TestRoutingPerRequest(t *testing.T) {
	t.Parallel()
	d := startBackend(t, api.ModeHTTP1, "D")
	b1 := startBackend(t, api.ModeHTTP1, "B1")
	b2 := startBackend(t, api.ModeHTTP1, "B2")
	b3 := startBackend(t, api.ModeHTTP1, "B3")
	routes := []string{"-r", "/api=" + b1.addr, "-r", "/api/v2=" + b2.addr, "-r", "/webhook=" + b3.addr}
	// Consecutive requests alternate between backends, so none can ride on the previous one's
	// backend connection.
	requests := []route{
		{"/api/users?x=1", "B1", "/users?x=1"},
		{"/other", "D", "/other"},
		{"/api/v2/items", "B2", "/items"},
		{"/webhook/stripe", "B3", "/stripe"},
		{"/api", "B1", "/"},
		{"/apiary", "D", "/apiary"},
		{"/api/v2", "B2", "/"},
		{"/", "D", "/"},
		{"/api?x=1", "B1", "/?x=1"},
	}
	for _, tc := range []struct{ rewrite, ringLoops bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		rewrite := tc.rewrite
		t.Run(fmt.Sprintf("rewrite=%v/ring-loops=%v", rewrite, tc.ringLoops), func(t *testing.T) {
			t.Parallel()
			args := routes[:len(routes):len(routes)]
			if rewrite {
				args = append(args, "--rewrite")
			}
			proxy := startProxyLoops(t, tc.ringLoops, d.addr, args...)
			want := make([]api.Echo, len(requests))
			for i, r := range requests {
				want[i] = api.Echo{Backend: r.backend, Method: http.MethodGet, Target: r.target, Proto: "HTTP/1.1"}
				if rewrite {
					want[i].Target = r.rewritten
				}
			}
			t.Run("raw connection, one request at a time", func(t *testing.T) {
				checkRawRoutes(t, proxy, requests, want, false)
			})
			t.Run("raw connection, pipelined", func(t *testing.T) {
				checkRawRoutes(t, proxy, requests, want, true)
			})
			t.Run("net/http client, one connection", func(t *testing.T) {
				checkClientRoutes(t, proxy, requests, want)
			})
		})
	}
}

// checkRawRoutes sends the requests over one raw connection to proxy, each written after the
// previous response was read, or all at once when pipelined, and compares the echoes with want.
func checkRawRoutes(t *testing.T, proxy string, requests []route, want []api.Echo, pipelined bool) {
	conn, err := net.Dial("tcp", proxy)
	if err != nil {
		t.Fatalf("dialling proxyd at %s: %v", proxy, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(requestTimeout))
	heads := make([]string, len(requests))
	for i, r := range requests {
		heads[i] = fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nX-Request: %d\r\n\r\n", r.target, proxy, i)
	}
	if pipelined {
		if _, err := conn.Write([]byte(strings.Join(heads, ""))); err != nil {
			t.Fatalf("writing %d pipelined requests: %v", len(heads), err)
		}
	}
	responses := bufio.NewReader(conn)
	got := make([]api.Echo, len(requests))
	for i, r := range requests {
		if !pipelined {
			if _, err := conn.Write([]byte(heads[i])); err != nil {
				t.Fatalf("writing request %d (%s): %v", i, r.target, err)
			}
		}
		resp, body := readResponse(t, responses, http.MethodGet, r.target)
		got[i] = decodeEcho(t, resp, body)
		if h := got[i].Headers["X-Request"]; h != fmt.Sprint(i) || got[i].Host != proxy {
			t.Errorf("response %d (%s) answers a request with X-Request %q and Host %q; want %d and %s", i, r.target, h, got[i].Host, i, proxy)
		}
	}
	if diff := cmp.Diff(want, got, cmpEchoRoute); diff != "" {
		t.Errorf("requests arrived elsewhere (-want +got):\n%s", diff)
	}
}

// checkClientRoutes sends the requests with a net/http client limited to one connection to
// proxy, compares the echoes with want and checks that one connection carried them all.
func checkClientRoutes(t *testing.T, proxy string, requests []route, want []api.Echo) {
	var dials atomic.Int32
	var dialer net.Dialer
	tr := &http.Transport{
		MaxConnsPerHost: 1,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dialer.DialContext(ctx, network, addr)
		},
	}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: requestTimeout}
	got := make([]api.Echo, len(requests))
	for i, r := range requests {
		got[i] = getEcho(t, c, "http://"+proxy+r.target)
	}
	if diff := cmp.Diff(want, got, cmpEchoRoute); diff != "" {
		t.Errorf("requests arrived elsewhere (-want +got):\n%s", diff)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d requests took %d connections, want 1 keep-alive connection", len(requests), n)
	}
}
