package main

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// TestListenNoKeepalive checks that the connections accepted from listen's listener have no TCP
// keepalive (SO_KEEPALIVE off), and keep TCP_NODELAY.
func TestListenNoKeepalive(t *testing.T) {
	ln, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var keepalive, nodelay int
	var sockErr error
	raw.Control(func(fd uintptr) {
		if keepalive, sockErr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE); sockErr == nil {
			nodelay, sockErr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NODELAY)
		}
	})
	if sockErr != nil {
		t.Fatal(sockErr)
	}
	if keepalive != 0 || nodelay == 0 {
		t.Errorf("SO_KEEPALIVE %d, TCP_NODELAY %d; want 0 and not 0", keepalive, nodelay)
	}
}
