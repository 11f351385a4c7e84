//go:build linux

package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Paths of the fault backend: each breaks the exchange at one stage.
const (
	faultResetHead    = "/fault/reset-head"    // part of a response head, then a reset
	faultResetLength  = "/fault/reset-length"  // a head with Content-Length: 1 MiB, 64 KiB, a reset
	faultResetChunked = "/fault/reset-chunked" // a chunked head, three chunks, a reset
	faultResetTunnel  = "/fault/reset-tunnel"  // 101 to a WebSocket upgrade, one echo, a reset
	faultSilent       = "/fault/silent"        // reads the request, never answers
	faultCloseIdle    = "/fault/close-idle"    // answers keep-alive, then closes the connection
)

// faultName is the X-Backend value of the fault backend's complete answers.
const faultName = "fault"

// silentHold bounds how long the silent fault holds a connection that proxyd does not close.
const silentHold = 2 * time.Minute

// faultBackend is a raw HTTP/1.1 server on a free loopback port that breaks each exchange the way
// the request path names (the fault* paths); any other path gets a keep-alive 200 "ok".
type faultBackend struct {
	addr string
	ln   net.Listener
	mu   sync.Mutex
	open map[net.Conn]struct{}
}

func startFaultBackend() (*faultBackend, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &faultBackend{addr: ln.Addr().String(), ln: ln, open: map[net.Conn]struct{}{}}
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			b.track(nc, true)
			go b.serve(nc.(*net.TCPConn))
		}
	}()
	return b, nil
}

func (b *faultBackend) track(nc net.Conn, add bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if add {
		b.open[nc] = struct{}{}
	} else {
		delete(b.open, nc)
	}
}

// close stops accepting and closes every connection still open.
func (b *faultBackend) close() {
	b.ln.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	for nc := range b.open {
		nc.Close()
	}
}

const okAnswer = "HTTP/1.1 200 OK\r\nX-Backend: " + faultName + "\r\nContent-Length: 2\r\n\r\nok"

func (b *faultBackend) serve(nc *net.TCPConn) {
	defer b.track(nc, false)
	defer nc.Close()
	br := bufio.NewReader(nc)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return
		}
		path := req.URL.Path
		switch {
		case strings.HasPrefix(path, faultResetHead):
			io.WriteString(nc, "HTTP/1.1 200 OK\r\nContent-Ty")
			reset(nc)
		case strings.HasPrefix(path, faultResetLength):
			io.WriteString(nc, "HTTP/1.1 200 OK\r\nX-Backend: "+faultName+"\r\nContent-Length: 1048576\r\n\r\n")
			writeFiller(nc, 64<<10)
			reset(nc)
		case strings.HasPrefix(path, faultResetChunked):
			io.WriteString(nc, "HTTP/1.1 200 OK\r\nX-Backend: "+faultName+"\r\nTransfer-Encoding: chunked\r\n\r\n")
			io.WriteString(nc, "5\r\nfirst\r\n6\r\nsecond\r\n5\r\nthird\r\n")
			reset(nc)
		case strings.HasPrefix(path, faultResetTunnel):
			echoOnceThenReset(nc, br)
		case strings.HasPrefix(path, faultSilent):
			nc.SetReadDeadline(time.Now().Add(silentHold))
			io.Copy(io.Discard, br) // until proxyd closes the connection
		case strings.HasPrefix(path, faultCloseIdle):
			io.WriteString(nc, okAnswer)
		default:
			if _, err := io.WriteString(nc, okAnswer); err != nil {
				return
			}
			continue
		}
		return
	}
}

// A tunnel client sends tunnelHello, which the fault backend echoes, then tunnelAgain, on which the
// backend resets: the reset cannot overtake the echo.
const (
	tunnelHello = "hello"
	tunnelAgain = "again"
)

// echoOnceThenReset switches to a WebSocket-style tunnel, echoes the first message and resets on
// the second.
func echoOnceThenReset(nc *net.TCPConn, br *bufio.Reader) {
	io.WriteString(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	buf := make([]byte, len(tunnelHello))
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(br, buf); err != nil {
		return
	}
	nc.Write(buf)
	if _, err := io.ReadFull(br, make([]byte, len(tunnelAgain))); err != nil {
		return
	}
	reset(nc)
}

// reset closes nc with a reset (RST) rather than a FIN.
func reset(nc *net.TCPConn) {
	nc.SetLinger(0)
	nc.Close()
}
