package engine

import (
	"testing"

	"proxyd.dev/proxyd/internal/routetest"
)

// TestH2InvalidPreface opens connections with the first line of the HTTP/2 client preface and a
// rest that is not the preface's, or that does not come: a connection error of an HTTP/2 client
// (RFC 9113 §3.4), closed without an answer rather than answered as an HTTP/1.x request of
// version 2.0; so is one whose first line names no protocol at all. A request line of another
// method with version HTTP/2.0 is still answered 505, and a malformed version 400.
func TestH2InvalidPreface(t *testing.T) {
	p := startProxy(t, testConfig(t, routetest.Table(t, startH1Backend(t, nameProtoTarget("be")))))
	for _, tc := range []struct {
		name, first string
	}{
		{"other rest", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"},
		{"one byte off", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r\x00\x00\x00\x04\x00\x00\x00\x00\x00"},
		{"HTTP/1.x head", "PRI * HTTP/2.0\r\nHost: a\r\n\r\n"},
		{"rest never comes", "PRI * HTTP/2.0\r\n\r\nSM"},
		{"no protocol named", "INVALID CONNECTION PREFACE\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, p.addr)
			c.send(tc.first)
			if err := c.conn.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			c.expectEOF()
		})
	}
	c := dial(t, p.addr)
	c.send("GET / HTTP/2.0\r\nHost: a\r\n\r\n")
	if got := c.head(); got[:len("HTTP/1.1 505")] != "HTTP/1.1 505" {
		t.Errorf("GET with version HTTP/2.0 answered %q, want 505", got)
	}
	c = dial(t, p.addr)
	c.send("GET / http/1.1\r\nHost: a\r\n\r\n")
	if got := c.head(); got[:len("HTTP/1.1 400")] != "HTTP/1.1 400" {
		t.Errorf("GET with version http/1.1 answered %q, want 400", got)
	}
}
