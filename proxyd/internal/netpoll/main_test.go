package netpoll

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the run when any test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitLimit bounds every wait of a test, so that a socket that never becomes readable fails the
// test instead of hanging it.
const waitLimit = 10 * time.Second

// tcpPair returns both ends of a fresh loopback TCP connection; cleanup closes them.
func tcpPair(t *testing.T) (local, peer *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("listen on loopback: %v", err)
	}
	defer ln.Close()
	local, err = net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatalf("dial %s: %v", ln.Addr(), err)
	}
	t.Cleanup(func() { local.Close() })
	peer, err = ln.AcceptTCP()
	if err != nil {
		t.Fatalf("accept on %s: %v", ln.Addr(), err)
	}
	t.Cleanup(func() { peer.Close() })
	return local, peer
}

// reset closes c so that its peer receives a TCP reset instead of an orderly end.
func reset(t *testing.T, c *net.TCPConn) {
	t.Helper()
	if err := c.SetLinger(0); err != nil {
		t.Fatalf("SetLinger(0): %v", err)
	}
	c.Close()
}

// waitReadable waits, at most waitLimit, for c to become readable: for what its peer did to
// arrive.
func waitReadable(t *testing.T, c *net.TCPConn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitLimit))
	if err := WaitReadable(c); err != nil {
		t.Fatalf("WaitReadable while waiting for the peer: %v", err)
	}
	c.SetReadDeadline(time.Time{})
}

// errNoRawConn is the error of noRawConn.SyscallConn.
var errNoRawConn = errors.New("no raw connection")

// noRawConn is a connection whose descriptor cannot be reached.
type noRawConn struct{}

func (noRawConn) SyscallConn() (syscall.RawConn, error) { return nil, errNoRawConn }
