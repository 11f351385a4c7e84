package engine

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/routetest"
)

// TestStreamingEventByEvent checks that a streamed response reaches the client piece by piece:
// the backend sends the next event only once the client has read the previous one through the
// proxy, so a proxy that waits for more before forwarding hangs the test (until its read guard).
func TestStreamingEventByEvent(t *testing.T) {
	events := []string{"data: one\n\n", "event: tick\ndata: two\n\n", "id: 3\ndata: three\n\n"}
	chunk := func(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }
	for _, tc := range []struct {
		name    string
		head    string
		relayed string                    // the head the client reads when it differs
		frame   func(event string) string // how the event travels in the body
		end     string                    // what ends the body; "" for the backend's close
	}{{
		name:  "SSE chunked",
		head:  "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n",
		frame: chunk,
		end:   "0\r\n\r\n",
	}, {
		name:  "slow chunked",
		head:  "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
		frame: chunk,
		end:   "0\r\nX-Trailer: done\r\n\r\n",
	}, {
		name:    "SSE close-delimited",
		head:    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n",
		relayed: "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
		frame:   func(s string) string { return s },
	}} {
		t.Run(tc.name, func(t *testing.T) {
			be, c := viaScripted(t)
			c.send("GET /events HTTP/1.1\r\nHost: example.test\r\nAccept: text/event-stream\r\n\r\n")
			b := be.next()
			b.request()

			b.send(tc.head)
			relayed := tc.head
			if tc.relayed != "" {
				relayed = tc.relayed
			}
			if diff := cmp.Diff(relayed, c.head()); diff != "" {
				t.Errorf("head (-want +got):\n%s", diff)
			}
			for _, e := range events {
				want := tc.frame(e)
				b.send(want)
				if diff := cmp.Diff(want, c.readN(len(want))); diff != "" {
					t.Errorf("event (-want +got):\n%s", diff)
				}
			}
			if tc.end == "" {
				b.conn.Close()
				c.expectEOF()
				return
			}
			b.send(tc.end)
			if diff := cmp.Diff(tc.end, c.readN(len(tc.end))); diff != "" {
				t.Errorf("end of body (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStreamingAfterFastPart checks that a body of known length whose sender pauses after a fast
// part still reaches the other side as it comes, a response's and a request's: what came before
// the pause is relayed although the relay's wait lets a fast source's bytes queue
// (wire.Progress.Hurry, from the sweeper). The sender sends the rest only once those bytes have
// been read, so a proxy that waits for more before forwarding them hangs the test (until its read
// guard).
func TestStreamingAfterFastPart(t *testing.T) {
	const fast, pause, rest = 8 << 20, 1000, 64 << 10
	body := make([]byte, fast+pause+rest)
	if _, err := io.ReadFull(rand.NewChaCha8([32]byte{4}), body); err != nil {
		t.Fatal(err)
	}
	for _, upload := range []bool{false, true} {
		t.Run(map[bool]string{false: "response body", true: "request body"}[upload], func(t *testing.T) {
			be, c := viaScripted(t)
			sent := make(chan error, 1)
			sendFast := func(from *peer, head string) { // the other side reads meanwhile
				go func() {
					_, err := from.conn.Write(append([]byte(head), body[:fast]...))
					sent <- err
				}()
			}
			var from, to, b *peer
			var head string
			if upload {
				head = fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: example.test\r\nContent-Length: %d\r\n\r\n", len(body))
				sendFast(c, head)
				b = be.next()
				from, to = c, b
			} else {
				c.send("GET /download HTTP/1.1\r\nHost: example.test\r\n\r\n")
				b = be.next()
				b.request()
				head = fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(body))
				sendFast(b, head)
				from, to = b, c
			}
			if diff := cmp.Diff(head, to.head()); diff != "" {
				t.Errorf("head (-want +got):\n%s", diff)
			}
			got := to.readN(fast)
			if err := receive(t, sent, "the write of the fast part to return"); err != nil {
				t.Fatalf("the write of the fast part: %v", err)
			}
			from.send(string(body[fast : fast+pause]))
			got += to.readN(pause)
			from.send(string(body[fast+pause:]))
			got += to.readN(rest)
			if got != string(body) {
				t.Error("the relayed body differs from the sender's")
			}
			if upload {
				b.send("HTTP/1.1 204 No Content\r\n\r\n")
				c.response(false)
			}
		})
	}
}

// largeBody is the size of the bodies relayed whole in each direction.
const largeBody = 64 << 20

// largeSource returns the deterministic content of a large body.
func largeSource() io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{1, 2, 3}), largeBody)
}

// largeSum is the hex SHA-256 of largeSource's content.
func largeSum(t *testing.T) string {
	h := sha256.New()
	if _, err := io.Copy(h, largeSource()); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// startHashing starts a net/http backend that answers POST with the hex SHA-256 of the request
// body, and anything else with largeSource's content, framed by Content-Length unless the query
// is "chunked".
func startHashing(t *testing.T) string {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			h := sha256.New()
			if _, err := io.Copy(h, r.Body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			io.WriteString(w, hex.EncodeToString(h.Sum(nil)))
			return
		}
		if r.URL.RawQuery != "chunked" {
			w.Header().Set("Content-Length", strconv.Itoa(largeBody))
		}
		io.Copy(w, largeSource())
	}))
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// TestLargeBodies relays 64 MiB up and 64 MiB down, with Content-Length and chunked framing, and
// checks their SHA-256 on the other side.
func TestLargeBodies(t *testing.T) {
	sum := largeSum(t)
	backend := startHashing(t)
	p := startProxy(t, testConfig(t, routetest.Table(t, backend)))
	for _, chunked := range []bool{false, true} {
		name := map[bool]string{false: "content-length", true: "chunked"}[chunked]
		t.Run("upload/"+name, func(t *testing.T) {
			c := dialProgress(t, p.addr)
			if err := upload(c, chunked); err != nil {
				t.Fatalf("sending the body: %v", err)
			}
			resp := readResponse(t, c)
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || string(got) != sum {
				t.Errorf("backend answered %d %q, want 200 %q", resp.StatusCode, got, sum)
			}
		})
		t.Run("download/"+name, func(t *testing.T) {
			c := dialProgress(t, p.addr)
			target := "/large"
			if chunked {
				target += "?chunked"
			}
			if _, err := io.WriteString(c, "GET "+target+" HTTP/1.1\r\nHost: example.test\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp := readResponse(t, c)
			h := sha256.New()
			n, err := io.Copy(h, resp.Body)
			if err != nil {
				t.Fatalf("after %d bytes: %v", n, err)
			}
			if got := hex.EncodeToString(h.Sum(nil)); n != largeBody || got != sum {
				t.Errorf("received %d bytes with SHA-256 %s, want %d with %s", n, got, largeBody, sum)
			}
			if chunked != (len(resp.TransferEncoding) > 0) {
				t.Errorf("Transfer-Encoding %q, want chunked %v", resp.TransferEncoding, chunked)
			}
		})
	}
}

// progressConn is a client connection for long transfers: each read and write must make progress
// within waitLimit, however long the whole transfer takes.
type progressConn struct{ net.Conn }

func (c progressConn) Read(p []byte) (int, error) {
	c.SetReadDeadline(time.Now().Add(waitLimit))
	return c.Conn.Read(p)
}

func (c progressConn) Write(p []byte) (int, error) {
	c.SetWriteDeadline(time.Now().Add(waitLimit))
	return c.Conn.Write(p)
}

// dialProgress opens a progressConn to addr.
func dialProgress(t *testing.T, addr string) progressConn {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return progressConn{nc}
}

// upload sends a POST of largeSource's content to conn.
func upload(conn net.Conn, chunked bool) error {
	if !chunked {
		if _, err := fmt.Fprintf(conn, "POST /hash HTTP/1.1\r\nHost: example.test\r\nContent-Length: %d\r\n\r\n", largeBody); err != nil {
			return err
		}
		_, err := io.Copy(conn, largeSource())
		return err
	}
	if _, err := io.WriteString(conn, "POST /hash HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n"); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(conn, 64<<10)
	cw := httputil.NewChunkedWriter(bw)
	if _, err := io.Copy(cw, largeSource()); err != nil {
		return err
	}
	if err := cw.Close(); err != nil {
		return err
	}
	if _, err := io.WriteString(bw, "\r\n"); err != nil {
		return err
	}
	return bw.Flush()
}

// readResponse reads a response head off c with net/http, for tests about bodies rather than bytes.
func readResponse(t *testing.T, c progressConn) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 64<<10), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
