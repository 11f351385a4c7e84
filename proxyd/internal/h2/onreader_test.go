package h2

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/routetest"
)

// The streams of these tests after the first reach a backend that sends each response whole in
// one write, so that the backend connection's reader may relay it itself (Server.relayOnReader).
// A client that cannot take a response at once must not hold that reader up: the other clients'
// streams on the same backend connection go on.

// startWholeBackend starts a raw h2c backend that answers every request at once with a body of
// size bytes, and a proxy to it; the first GET, by the returned client, finds it speaks h2c.
func startWholeBackend(t *testing.T, size int) (*proxy, *http.Client) {
	t.Helper()
	body := strings.Repeat("w", size)
	be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		for {
			h, err := c.Request()
			if err != nil {
				return
			}
			c.RespondAtOnce(h.StreamID, body)
		}
	})
	p := startProxy(t, testConfig(t, routetest.Table(t, be.Addr())))
	c := newClient(t)
	checkWhole(t, c, p, "/first", size)
	return p, c
}

// checkWhole GETs path and checks that the answer is the backend's whole body of size bytes.
func checkWhole(t *testing.T, c *http.Client, p *proxy, path string, size int) {
	t.Helper()
	if resp, body := get(t, c, p, path); resp.StatusCode != http.StatusOK || len(body) != size {
		t.Fatalf("GET %s: %d with %d bytes, want 200 with %d", path, resp.StatusCode, len(body), size)
	}
}

// TestWindowlessClientStallsNoOtherStream sends a stream from a client that gives no
// flow-control credit (SETTINGS_INITIAL_WINDOW_SIZE 0): its response waits for the credit, on a
// handler of its own, while another client's streams over the same backend connection are
// answered; once the credit comes, the whole body follows.
func TestWindowlessClientStallsNoOtherStream(t *testing.T) {
	const size = 100
	p, c := startWholeBackend(t, size)
	stingy := h2test.Dial(t, p.addr, waitLimit)
	stingy.Framer().WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	stingy.Settings()
	stingy.Get(1, "/stingy")
	for {
		f := stingy.Next()
		switch f.(type) {
		case *http2.SettingsFrame, *http2.WindowUpdateFrame:
			continue // the acknowledgement, the connection's window
		}
		if head, ok := f.(*http2.MetaHeadersFrame); !ok || head.StreamID != 1 || head.StreamEnded() {
			t.Fatalf("the windowless stream got %v first, want its response head alone", f)
		}
		break
	}
	for _, path := range []string{"/other/1", "/other/2", "/other/3"} {
		checkWhole(t, c, p, path, size)
	}
	stingy.Framer().WriteWindowUpdate(1, size)
	if status, body := stingy.Response(); status != "" || len(body) != size {
		t.Errorf("after its credit the windowless stream got status %q and %d bytes, want the %d-byte body", status, len(body), size)
	}
}

// TestUnreadClientStallsNoOtherStream sends many streams from a client that gives all the credit
// there is but never reads its socket, until proxyd's writes to it back up; another client's
// streams over the same backend connection are still answered. proxyd's socket to that client
// takes little (as a slow client's, whose window stays closed, would), so that a few responses fill
// it: the client need not flood proxyd with streams, which on a busy machine made the kernel drop
// its segments and the test wait out retransmission timeouts.
func TestUnreadClientStallsNoOtherStream(t *testing.T) {
	const size, streams = 8 << 10, 64
	p, c := startWholeBackend(t, size)
	nc, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.(*net.TCPConn).SetReadBuffer(4 << 10)
	deaf := h2test.NewRawClient(t, nc, nc, waitLimit)
	deaf.Framer().WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
	deaf.Framer().WriteWindowUpdate(0, 1<<31-1-65535)
	p.setSendBuffer(t, nc.LocalAddr(), 16<<10)
	for id := uint32(1); id < 2*streams; id += 2 {
		deaf.Get(id, "/deaf")
	}
	eventually(t, "proxyd's writes to a client that reads nothing back up", p.backedUp)
	for _, path := range []string{"/other/1", "/other/2", "/other/3"} {
		checkWhole(t, c, p, path, size)
	}
}

// setSendBuffer sets the send buffer of proxyd's socket to the client at addr to size bytes, once
// proxyd serves that connection.
func (p *proxy) setSendBuffer(t *testing.T, addr net.Addr, size int) {
	t.Helper()
	var err error
	eventually(t, "proxyd serves the connection from "+addr.String(), func() bool {
		for c := range p.serving {
			if c.nc.RemoteAddr().String() == addr.String() {
				err = c.nc.(interface{ SetWriteBuffer(int) error }).SetWriteBuffer(size)
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
}

// backedUp reports whether the writes to one of the proxy's client connections back up.
func (p *proxy) backedUp() bool {
	for c := range p.serving {
		if c.fc.Backlogged() {
			return true
		}
	}
	return false
}
