package engine

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"proxyd.dev/proxyd/internal/routetest"
)

// TestDialTimeout answers 504 when the backend's listen queue is full, so that connecting to it
// runs out of the dial timeout, and keeps the client connection for the next request.
func TestDialTimeout(t *testing.T) {
	full := fullListener(t)
	up := startEcho(t, "up")
	cfg := testConfig(t, routetest.Table(t, up.addr(), "/full="+full))
	cfg.DialTimeout = shortTimeout
	p := startProxy(t, cfg)
	c := dial(t, p.addr)
	c.send("GET /full/x HTTP/1.1\r\nHost: example.test\r\n\r\n")
	if diff := cmp.Diff(answer(504, false), c.response(false)); diff != "" {
		t.Errorf("answer (-want +got):\n%s", diff)
	}
	c.send(simpleGet)
	if diff := cmp.Diff(echoResponse("up", simpleGet), c.response(false)); diff != "" {
		t.Errorf("next response (-want +got):\n%s", diff)
	}
}

// fullListener returns the loopback address of a socket that listens with the smallest queue and
// never accepts, with that queue filled: a further connection attempt gets no answer at all.
func fullListener(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	for range 16 {
		nc, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr // the queue is full: this attempt was never answered
		}
		t.Cleanup(func() { nc.Close() })
	}
	t.Fatal("the listen queue never filled")
	return ""
}
