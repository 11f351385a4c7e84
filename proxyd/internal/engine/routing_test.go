package engine

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/routetest"
)

// routedRequest is one request of a keep-alive sequence and where it must arrive.
type routedRequest struct {
	target      string // as the client sends it
	backend     string // name of the backend that must answer
	raw, strips string // target the backend sees without and with --rewrite
}

// routedSequence goes back and forth between routes and the default backend on one connection.
var routedSequence = []routedRequest{
	{target: "/api/a", backend: "B1", raw: "/api/a", strips: "/a"},
	{target: "/other", backend: "default", raw: "/other", strips: "/other"},
	{target: "/api/v2/b?x=1&y=%2F", backend: "B2", raw: "/api/v2/b?x=1&y=%2F", strips: "/b?x=1&y=%2F"},
	{target: "/api/a", backend: "B1", raw: "/api/a", strips: "/a"},
	{target: "/api?q=1", backend: "B1", raw: "/api?q=1", strips: "/?q=1"},
	{target: "/apiary", backend: "default", raw: "/apiary", strips: "/apiary"},
	{target: "/api/v2", backend: "B2", raw: "/api/v2", strips: "/"},
}

// routedHead is a request head whose fields the proxy must forward byte for byte: odd case,
// repeated fields, whitespace inside and around values, obs-text.
func routedHead(target string) string {
	return "GET " + target + " HTTP/1.1\r\n" +
		"hOsT: example.test\r\n" +
		"X-Dup: 1\r\nx-dup:2\r\n" +
		"X-Spaced:   a \t b  \r\n" +
		"X-Obs: caf\xe9\r\n" +
		"\r\n"
}

// TestRoutingPerRequest sends requests for different backends over one keep-alive connection,
// one at a time and pipelined, with and without --rewrite: every request reaches its own backend
// with only its path changed (and only when rewriting a routed request), and the responses come
// back in order.
func TestRoutingPerRequest(t *testing.T) {
	for _, rewrite := range []bool{false, true} {
		for _, pipelined := range []bool{false, true} {
			name := map[bool]string{false: "raw", true: "rewrite"}[rewrite] + "/" +
				map[bool]string{false: "sequential", true: "pipelined"}[pipelined]
			t.Run(name, func(t *testing.T) {
				def, b1, b2 := startEcho(t, "default"), startEcho(t, "B1"), startEcho(t, "B2")
				cfg := testConfig(t, routetest.Table(t, def.addr(), "/api="+b1.addr(), "/api/v2="+b2.addr()))
				cfg.Rewrite = rewrite
				p := startProxy(t, cfg)
				c := dial(t, p.addr)

				var want, got []string
				var all strings.Builder
				for _, r := range routedSequence {
					seen := r.raw
					if rewrite {
						seen = r.strips
					}
					want = append(want, echoResponse(r.backend, routedHead(seen)))
					if !pipelined {
						c.send(routedHead(r.target))
						got = append(got, c.response(false))
					}
					all.WriteString(routedHead(r.target))
				}
				if pipelined {
					c.send(all.String())
					for range routedSequence {
						got = append(got, c.response(false))
					}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("responses (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestRoutingNonPathTargets sends an asterisk-form target to the default backend, unrewritten.
func TestRoutingNonPathTargets(t *testing.T) {
	def, b1 := startEcho(t, "default"), startEcho(t, "B1")
	cfg := testConfig(t, routetest.Table(t, def.addr(), "/="+b1.addr()))
	cfg.Rewrite = true
	p := startProxy(t, cfg)
	c := dial(t, p.addr)
	req := "OPTIONS * HTTP/1.1\r\nHost: example.test\r\n\r\n"
	c.send(req)
	if diff := cmp.Diff(echoResponse("default", req), c.response(false)); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
}
