// Package loopback gives tests both ends of a real TCP connection on 127.0.0.1.
package loopback

import (
	"net"
	"testing"
)

// Pair returns both ends of a fresh loopback TCP connection: the one that dialled and the one that
// was accepted. The test's cleanup closes both.
func Pair(t testing.TB) (dialed, accepted *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	defer ln.Close()
	dialed, err = net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatalf("dial %s: %v", ln.Addr(), err)
	}
	t.Cleanup(func() { dialed.Close() })
	accepted, err = ln.AcceptTCP()
	if err != nil {
		t.Fatalf("accept on %s: %v", ln.Addr(), err)
	}
	t.Cleanup(func() { accepted.Close() })
	return dialed, accepted
}

// ClosedAddr returns a loopback address where nothing listens: connecting to it is refused.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
