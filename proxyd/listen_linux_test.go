package main

import (
	"net"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// dialAndSend connects to ln and sends one byte, which lets listen's listener hand the connection
// over at once.
func dialAndSend(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write([]byte("G")); err != nil {
		t.Fatal(err)
	}
	return c
}

// sockoptInts reads the integer options opts (level IPPROTO_TCP, or SOL_SOCKET for SO_*) of c.
func sockoptInts(t *testing.T, c syscall.Conn, opts ...[2]int) []int {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]int, len(opts))
	var sockErr error
	raw.Control(func(fd uintptr) {
		for i, o := range opts {
			if vals[i], sockErr = unix.GetsockoptInt(int(fd), o[0], o[1]); sockErr != nil {
				return
			}
		}
	})
	if sockErr != nil {
		t.Fatal(sockErr)
	}
	return vals
}

// TestListenNoKeepalive checks that the connections accepted from listen's listener have no TCP
// keepalive (SO_KEEPALIVE off), and keep TCP_NODELAY.
func TestListenNoKeepalive(t *testing.T) {
	ln, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dialAndSend(t, ln)
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	v := sockoptInts(t, conn.(*net.TCPConn), [2]int{unix.SOL_SOCKET, unix.SO_KEEPALIVE}, [2]int{unix.IPPROTO_TCP, unix.TCP_NODELAY})
	if v[0] != 0 || v[1] == 0 {
		t.Errorf("SO_KEEPALIVE %d, TCP_NODELAY %d; want 0 and not 0", v[0], v[1])
	}
}

// TestListenDefersAccept checks that listen's listener hands over a connection only once its
// first bytes have come (TCP_DEFER_ACCEPT): of a silent connection and a later one that has sent a
// byte, Accept returns the later one. Without the option it would return the first, which the
// kernel queues as soon as its handshake ends; with it, the silent one waits a second or until it
// sends.
func TestListenDefersAccept(t *testing.T) {
	ln, err := listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if v := sockoptInts(t, ln.(*net.TCPListener), [2]int{unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT}); v[0] == 0 {
		t.Fatal("TCP_DEFER_ACCEPT is off on the listener")
	}
	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	speaking := dialAndSend(t, ln)
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got, want := conn.RemoteAddr().String(), speaking.LocalAddr().String(); got != want {
		t.Errorf("accepted the connection from %s, want %s, the one that sent a byte (the silent one is %s)", got, want, silent.LocalAddr())
	}
}
