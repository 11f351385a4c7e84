package engine

import (
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/forwarded"
	"proxyd.dev/proxyd/internal/proxyproto"
	"proxyd.dev/proxyd/internal/routetest"
)

// TestForwarded tells the backend the client's address with --forwarded: the fields an untrusted
// client sent are removed, a trusted client's are extended, Connection options that name them are
// removed, the rest of the head (rewritten target, "Connection: close" honoured on the client side)
// is as without it.
func TestForwarded(t *testing.T) {
	const added = "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nForwarded: for=127.0.0.1;proto=http\r\n"
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		sent    string // fields the client sends besides Host
		want    string // fields the backend reads besides Host
	}{
		{"no fields", nil, "Accept: */*\r\n", "Accept: */*\r\n" + added},
		{"spoofed", nil,
			"X-Forwarded-For: 6.6.6.6\r\nAccept: */*\r\nx-real-ip: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\nX-Forwarded-Proto: https\r\n",
			"Accept: */*\r\n" + added},
		{"trusted", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			"X-Forwarded-For: 192.0.2.1\r\nAccept: */*\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: 192.0.2.2\r\n",
			"Accept: */*\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: 192.0.2.1, 192.0.2.2, 127.0.0.1\r\nForwarded: for=127.0.0.1;proto=http\r\n"},
		{"connection close", nil, "Connection: close\r\n", added},
		{"connection options naming the fields", nil, "Connection: close, X-Forwarded-For, Forwarded\r\n", added},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := startScripted(t)
			cfg := testConfig(t, routetest.Table(t, be.addr(), "/api="+be.addr()))
			cfg.Rewrite = true
			cfg.Forwarded = forwarded.New(tc.trusted)
			p := startProxy(t, cfg)
			c := dial(t, p.addr)
			c.send("GET /api/x?q=1 HTTP/1.1\r\nHost: example.test\r\n" + tc.sent + "\r\n")
			b := be.next()
			if diff := cmp.Diff("GET /x?q=1 HTTP/1.1\r\nHost: example.test\r\n"+tc.want+"\r\n", b.request()); diff != "" {
				t.Errorf("backend read (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProxyProtocol starts each backend connection with a PROXY protocol header naming the client,
// keeps it for that client connection's later requests, and never pools it for another client.
func TestProxyProtocol(t *testing.T) {
	be := startScripted(t)
	cfg := testConfig(t, routetest.Table(t, be.addr()))
	cfg.ProxyProtocol = proxyproto.V1
	p := startProxy(t, cfg)
	// newClient sends a request on a new client connection: a new backend connection must read it
	// after the header naming that client.
	newClient := func() (c, b *peer) {
		c = dial(t, p.addr)
		c.send(simpleGet)
		b = be.next()
		client, proxy := c.conn.LocalAddr().(*net.TCPAddr), c.conn.RemoteAddr().(*net.TCPAddr)
		header := fmt.Sprintf("PROXY TCP4 %s %s %d %d\r\n", client.IP, proxy.IP, client.Port, proxy.Port)
		if diff := cmp.Diff(header+simpleGet, b.readN(len(header)+len(simpleGet))); diff != "" {
			t.Errorf("backend connection read (-want +got):\n%s", diff)
		}
		b.send(followUpResp)
		c.response(false)
		return c, b
	}

	c1, b1 := newClient()
	c1.send(followUp) // same client, same backend: the kept connection, no second header
	serveOne(t, c1, b1, followUp, followUpResp)
	c1.conn.Close()
	b1.expectEOF() // not pooled

	newClient() // its own backend connection
}
