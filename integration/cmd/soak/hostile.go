//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// hostileKind is one way a client misbehaves: what it sends on connecting, whether it then
// half-closes, what it drips a byte a second, and how it reads what proxyd sends (nil: it never
// reads).
type hostileKind struct {
	name       string
	rcvBuf     int // when positive, the socket's receive buffer, set before connecting
	opening    string
	closeWrite bool
	drip       string
	read       func(br *bufio.Reader) (status string, err error)
}

// noReadSize is the response a no-read client asks for and never reads: far more than the socket
// buffers between proxyd and it hold.
const noReadSize = 32 << 20

// hostileKinds are the misbehaving clients of the hostile scenario, in the order they run.
func hostileKinds() []hostileKind {
	return []hostileKind{
		{name: "no-read", rcvBuf: 16 << 10,
			opening: fmt.Sprintf("GET /alpha/hostile/no-read?%s=%d HTTP/1.1\r\nHost: soak\r\n\r\n", paramBig, noReadSize)},
		{name: "slowloris", read: readStatus,
			drip: "GET /alpha/hostile/slowloris HTTP/1.1\r\nHost: soak\r\nX-Pad: " + strings.Repeat("a", 1000)},
		{name: "chunked-stall", read: readStatus,
			opening: "POST /alpha/hostile/chunked HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"},
		{name: "length-stall", read: readStatus,
			opening: "POST /alpha/hostile/length HTTP/1.1\r\nHost: soak\r\nContent-Length: 1048576\r\n\r\n" + strings.Repeat("b", 1024)},
		{name: "half-open", read: readHalfOpen, closeWrite: true,
			opening: "GET /alpha/hostile/half-open HTTP/1.1\r\nHost: soak\r\n\r\n"},
		{name: "silent", read: readStatus},
	}
}

// readStatus reads what proxyd sends until it closes the connection and returns the status of the
// answer it sent first ("none" when it sent none). Any answer is fine: it never fails.
func readStatus(br *bufio.Reader) (string, error) {
	line, _ := br.ReadString('\n')
	status := "none"
	if f := strings.Fields(line); len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/") {
		status = f[1]
	}
	io.Copy(io.Discard, br)
	return status, nil
}

// readHalfOpen checks that the client that shut its write side after the request still gets a
// complete answer from alpha, then reads until proxyd closes.
func readHalfOpen(br *bufio.Reader) (string, error) {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return "none", fmt.Errorf("half-open client got no answer: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	status := fmt.Sprint(resp.StatusCode)
	if err != nil {
		return status, fmt.Errorf("half-open client got %d bytes of the body: %w", len(body), err)
	}
	want := "/alpha/hostile/half-open"
	if resp.StatusCode != http.StatusOK || resp.Header.Get(backendHeader) != nameAlpha || string(body) != want {
		return status, fmt.Errorf("half-open client got %d from %q: %q", resp.StatusCode, resp.Header.Get(backendHeader), clip(body))
	}
	io.Copy(io.Discard, br)
	return status, nil
}

// hostileWave is a number of clients of one kind, misbehaving until released.
type hostileWave struct {
	kind     hostileKind
	size     int            // the clients started
	engaged  sync.WaitGroup // done once each client connected and sent its opening
	finished sync.WaitGroup
	release  chan struct{}

	dialErrs atomic.Int64
	closed   atomic.Int64 // connections proxyd closed before the release
	statuses outcomes     // first status proxyd sent, by connection
	answered tally        // the answers read, and those that were wrong
}

// startHostileWave starts n clients of kind against addr, at most cap(sem) connecting at once.
func startHostileWave(ctx context.Context, addr string, kind hostileKind, n int, sem chan struct{}) *hostileWave {
	w := &hostileWave{kind: kind, size: n, release: make(chan struct{})}
	w.engaged.Add(n)
	w.finished.Add(n)
	for range n {
		go func() {
			defer w.finished.Done()
			w.client(ctx, addr, sem)
		}()
	}
	return w
}

func (w *hostileWave) client(ctx context.Context, addr string, sem chan struct{}) {
	engaged := sync.OnceFunc(w.engaged.Done)
	defer engaged()
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	if w.kind.rcvBuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) {
				syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, w.kind.rcvBuf)
			})
		}
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err == nil && w.kind.opening != "" {
		_, err = io.WriteString(nc, w.kind.opening)
	}
	if err == nil && w.kind.closeWrite {
		err = nc.(*net.TCPConn).CloseWrite()
	}
	<-sem
	if err != nil {
		w.dialErrs.Add(1)
		if nc != nil {
			nc.Close()
		}
		return
	}
	defer nc.Close()
	engaged()

	ended := make(chan struct{}) // closed when proxyd closed the connection
	if w.kind.read != nil {
		go func() {
			status, err := w.kind.read(bufio.NewReader(nc))
			w.note(status, err)
			close(ended)
		}()
	}
	w.dripUntilEnd(nc, ended)
	select {
	case <-ended:
		w.closed.Add(1)
	default:
	}
}

// dripUntilEnd sends the kind's drip a byte a second until the release, the end of the connection
// or the end of the drip; without a drip it just waits for the release or the end.
func (w *hostileWave) dripUntilEnd(nc net.Conn, ended chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-w.release:
			return
		case <-ended:
			return
		case <-tick.C:
		}
		if i < len(w.kind.drip) {
			if _, err := nc.Write([]byte{w.kind.drip[i]}); err != nil {
				return
			}
		}
	}
}

// note counts the first status proxyd sent on a connection, and err when the answer was wrong.
func (w *hostileWave) note(status string, err error) {
	w.answered.record(err)
	w.statuses.add(status)
}

// waitClosedByProxyd waits, up to within, until proxyd has closed the connection of every client
// of the wave that connected, and reports whether it did. A kind that never reads cannot tell: for
// it, it reports true at once.
func (w *hostileWave) waitClosedByProxyd(ctx context.Context, within time.Duration) bool {
	if w.kind.read == nil {
		return true
	}
	_, ok := pollUntil(ctx, within, func() bool { return w.closed.Load()+w.dialErrs.Load() >= int64(w.size) })
	return ok
}

// finish releases the clients that still hold their connection and waits for all of them.
func (w *hostileWave) finish() {
	close(w.release)
	w.finished.Wait()
}
