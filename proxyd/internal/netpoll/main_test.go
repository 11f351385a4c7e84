package netpoll

import (
	"errors"
	"io"
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

// peerAct is something the peer does to a connection.
type peerAct func(t *testing.T, peer *net.TCPConn)

// sends returns the act of writing data.
func sends(data string) peerAct {
	return func(t *testing.T, peer *net.TCPConn) {
		t.Helper()
		if _, err := peer.Write([]byte(data)); err != nil {
			t.Fatalf("peer write: %v", err)
		}
	}
}

// closes ends the connection in order.
func closes(_ *testing.T, peer *net.TCPConn) { peer.Close() }

// halfCloses ends the peer's sending only.
func halfCloses(_ *testing.T, peer *net.TCPConn) { peer.CloseWrite() }

// resets closes the connection with a TCP reset instead of an orderly end.
func resets(t *testing.T, peer *net.TCPConn) {
	t.Helper()
	if err := peer.SetLinger(0); err != nil {
		t.Fatalf("SetLinger(0): %v", err)
	}
	peer.Close()
}

// readEnds are the ways a peer ends a connection that a read reports: its end, and a reset.
var readEnds = []struct {
	name string
	act  peerAct
	want error
}{
	{name: "end", act: closes, want: io.EOF},
	{name: "reset", act: resets, want: syscall.ECONNRESET},
}

// checkReadEnd checks that err, what read returned, is want, and, but for io.EOF, a
// *net.OpError of a read, as the connection's own Read returns.
func checkReadEnd(t *testing.T, read string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s returned %v, want %v", read, err, want)
	}
	var oe *net.OpError
	if want != io.EOF && (!errors.As(err, &oe) || oe.Op != "read") {
		t.Errorf("%s's error %v is not a *net.OpError of a read, as the connection's own", read, err)
	}
}

// then is a followed by b.
func then(a, b peerAct) peerAct {
	return func(t *testing.T, peer *net.TCPConn) {
		t.Helper()
		a(t, peer)
		b(t, peer)
	}
}

// rawConn returns the RawConn of c.
func rawConn(t *testing.T, c *net.TCPConn) syscall.RawConn {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatalf("SyscallConn: %v", err)
	}
	return rc
}

// waitReadable waits, at most waitLimit, for c to become readable: for what its peer did to
// arrive, which the poll then reports.
func waitReadable(t *testing.T, c *net.TCPConn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(waitLimit))
	if err := rawConn(t, c).Read(func(fd uintptr) bool { return !quiet(fd) }); err != nil {
		t.Fatalf("waiting for the peer: %v", err)
	}
	c.SetReadDeadline(time.Time{})
}

// errNoRawConn is the error of noRawConn.SyscallConn.
var errNoRawConn = errors.New("no raw connection")

// noRawConn is a connection whose descriptor cannot be reached.
type noRawConn struct{}

func (noRawConn) SyscallConn() (syscall.RawConn, error) { return nil, errNoRawConn }

// checkLeft reads c after it was found readable: wantData when the peer sent it, else the end of
// the connection; after names the call that found it readable.
func checkLeft(t *testing.T, c *net.TCPConn, wantData, after string) {
	t.Helper()
	buf := make([]byte, len(wantData)+16)
	c.SetReadDeadline(time.Now().Add(waitLimit))
	n, err := c.Read(buf)
	if wantData == "" {
		if err == nil {
			t.Fatalf("Read after %s = %q, nil; want the end of the connection", after, buf[:n])
		}
		return
	}
	if err != nil {
		t.Fatalf("Read after %s: %v", after, err)
	}
	if got := string(buf[:n]); got != wantData {
		t.Errorf("Read after %s = %q, want %q", after, got, wantData)
	}
}

// readyCase is one way the peer makes a socket readable, and what the next Read then returns.
type readyCase struct {
	name     string
	peerDoes peerAct
	wantData string // empty: the next Read ends the connection
}

// readyCases are the ways the peer makes a socket readable: it sends payload, closes, half-closes
// or resets.
func readyCases(payload string) []readyCase {
	return []readyCase{
		{name: "peer sends bytes", peerDoes: sends(payload), wantData: payload},
		{name: "peer closes", peerDoes: closes},
		{name: "peer half-closes", peerDoes: halfCloses},
		{name: "peer resets", peerDoes: resets},
	}
}
