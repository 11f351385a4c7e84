package integration

import (
	"net"
	"testing"
)

// freeAddr returns a loopback address with a port that was free a moment ago: it listens on
// 127.0.0.1:0, takes the port and closes the listener.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free loopback port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
