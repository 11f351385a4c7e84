package h2

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/routetest"
)

// silentBackend accepts connections and never sends a byte; accepted receives each connection
// it accepts, close closes the listener and them.
func silentBackend(t *testing.T) (addr string, accepted <-chan struct{}, close func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	acc := make(chan struct{}, 16)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case acc <- struct{}{}:
			default:
			}
		}
	})
	return ln.Addr().String(), acc, func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
}

// TestRapidResetCalm opens streams and has each reset at once while their handlers cannot end: a
// first stream, left open, holds the backend's protocol probe (the backend never answers), which
// the others wait for whether they were reset or not. The client resets them itself (Rapid Reset,
// CVE-2023-44487), or makes proxyd reset them with a frame that is a stream error (MadeYouReset,
// CVE-2025-8671: a WINDOW_UPDATE of 0, RFC 9113 §6.9). Either way, once maxHandlers handlers run,
// the connection ends with GOAWAY ENHANCE_YOUR_CALM.
func TestRapidResetCalm(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reset func(*http2.Framer, uint32) error
	}{
		{"client resets", func(fr *http2.Framer, id uint32) error { return fr.WriteRSTStream(id, http2.ErrCodeCancel) }},
		{"proxyd made to reset", func(fr *http2.Framer, id uint32) error {
			fr.AllowIllegalWrites = true
			return fr.WriteWindowUpdate(id, 0)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be, accepted, closeBackend := silentBackend(t)
			p := startProxy(t, testConfig(t, routetest.Table(t, be)))
			t.Cleanup(closeBackend) // before the proxy's cleanup: the probe, and so the handlers, end
			c := dialReady(t, p.addr)
			writeHeaders(t, c, 1, c.Request("/"))
			within(t, accepted, "the probe's connection to the backend")
			for i := range maxHandlers {
				id := uint32(2*i + 3)
				writeHeaders(t, c, id, c.Request("/"))
				if err := tc.reset(c.Framer(), id); err != nil {
					t.Fatal(err)
				}
			}
			c.ExpectGoAwayWith(http2.ErrCodeEnhanceYourCalm)
		})
	}
}

// TestPingFloodUnread sends PING frames without ever reading the acknowledgements, beside a stream
// the backend keeps open (so that the connection is not idle): once the connection's buffers are
// full, proxyd's write of an acknowledgement takes no byte for the idle timeout and the
// connection ends, rather than buffer without bound.
func TestPingFloodUnread(t *testing.T) {
	be := startH2C(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	cfg := testConfig(t, routetest.Table(t, addr(be)))
	cfg.IdleTimeout = shortIdle
	p := startProxy(t, cfg)
	p.mu.Lock()
	p.sendBuffer = 4 << 10 // small buffers fill at once
	p.mu.Unlock()
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	conn.SetWriteDeadline(time.Now().Add(waitLimit))
	bw := bufio.NewWriterSize(conn, 64<<10)
	c := h2test.NewRawClient(t, conn, bw, waitLimit)
	c.Get(1, "/")
	flooded := make(chan error, 1)
	go func() {
		var err error
		for err == nil {
			if err = c.Framer().WritePing(false, [8]byte{1}); err == nil && bw.Buffered() > 60<<10 {
				err = bw.Flush()
			}
		}
		flooded <- err
	}()
	eventually(t, "the flooded connection's end", func() bool { return p.openConns() == 0 })
	conn.Close()
	<-flooded
}

// TestContinuationFlood sends a header block in CONTINUATION frames without end, far over the
// header list limit: the connection ends with GOAWAY long before the client runs out of frames.
func TestContinuationFlood(t *testing.T) {
	p := startProxy(t, testConfig(t, routetest.Table(t, loopback.ClosedAddr(t))))
	c := dialReady(t, p.addr)
	block := c.Request("/", [2]string{"x-big", strings.Repeat("a", 100)})
	if err := c.Framer().WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block}); err != nil {
		t.Fatal(err)
	}
	junk := []byte(strings.Repeat("\x00\x05x-pad\x7fzzzzzzzzzzzzzzz", 1000)) // literal fields
	goAway := make(chan http2.ErrCode, 1)
	go func() {
		for {
			f, err := c.Framer().ReadFrame()
			if err != nil {
				close(goAway)
				return
			}
			if ga, ok := f.(*http2.GoAwayFrame); ok {
				goAway <- ga.ErrCode
				return
			}
		}
	}()
	sent := 0
	for ; sent < 100*testMaxHeaderSize; sent += len(junk) {
		if c.Framer().WriteContinuation(1, false, junk) != nil {
			break
		}
		select {
		case code, ok := <-goAway:
			if !ok || code == http2.ErrCodeNo {
				t.Fatalf("connection ended without GOAWAY for an error (%v)", code)
			}
			return
		default:
		}
	}
	select {
	case code, ok := <-goAway:
		if !ok || code == http2.ErrCodeNo {
			t.Errorf("connection ended without GOAWAY for an error (%v), after %d bytes", code, sent)
		}
	case <-time.After(waitLimit):
		t.Fatalf("no GOAWAY after %d bytes of CONTINUATION", sent)
	}
}

// TestIdleConnectionGoAway checks that a connection without streams gets GOAWAY NO_ERROR once it
// has been idle for the idle timeout, and is closed.
func TestIdleConnectionGoAway(t *testing.T) {
	cfg := testConfig(t, routetest.Table(t, loopback.ClosedAddr(t)))
	cfg.IdleTimeout = shortIdle
	p := startProxy(t, cfg)
	c := dialReady(t, p.addr)
	start := time.Now()
	c.ExpectGoAway()
	if took := time.Since(start); took < shortIdle/2 {
		t.Errorf("GOAWAY after %v, want about %v", took, shortIdle)
	}
	c.ExpectEOF()
}

// TestExpectContinue sends a request that expects 100-continue: the interim 100 comes once the
// body is wanted (here, by the backend), then the body goes and the response comes.
func TestExpectContinue(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind.name, func(t *testing.T) {
			be := kind.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				w.Write(b)
			}))
			c := dialReady(t, startProxy(t, testConfig(t, routetest.Table(t, addr(be)))).addr)
			block := c.Request("/", [2]string{"expect", "100-continue"}, [2]string{"content-length", "4"})
			if err := c.Framer().WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndHeaders: true}); err != nil {
				t.Fatal(err)
			}
			if status := nextStatus(c); status != "100" {
				t.Fatalf("first head %s, want 100", status)
			}
			if err := c.Framer().WriteData(1, true, []byte("body")); err != nil {
				t.Fatal(err)
			}
			if status, body := c.Response(); status != "200" || string(body) != "body" {
				t.Errorf("response %s %q, want 200 %q", status, body, "body")
			}
		})
	}
}

// nextStatus reads frames until a HEADERS frame and returns its :status.
func nextStatus(c *h2test.RawClient) string {
	for {
		if h, ok := c.Next().(*http2.MetaHeadersFrame); ok {
			return h.PseudoValue("status")
		}
	}
}
