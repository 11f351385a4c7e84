package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// proxyHeaderTimeout bounds the wait for a connection's PROXY protocol header.
const proxyHeaderTimeout = 10 * time.Second

// v2Signature starts a PROXY protocol version 2 header (HAProxy's proxy-protocol.txt §2.2).
const v2Signature = "\r\n\r\n\x00\r\nQUIT\n"

// proxyListener reads the PROXY protocol header (version 1 or 2) that must start every connection
// it accepts, and gives the connection the client address the header names as its RemoteAddr, as
// nginx's proxy_protocol listeners do. A connection without a valid header is closed. Headers are
// read on a goroutine per connection, so a slow one holds up no other.
type proxyListener struct {
	net.Listener
	ready chan net.Conn
	errs  chan error
}

func newProxyListener(ln net.Listener) *proxyListener {
	l := &proxyListener{Listener: ln, ready: make(chan net.Conn), errs: make(chan error, 1)}
	go l.acceptLoop()
	return l
}

func (l *proxyListener) acceptLoop() {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			l.errs <- err
			return
		}
		go func() {
			pc, err := readProxyHeader(conn)
			if err != nil {
				fmt.Printf("backend: closing %s: %v\n", conn.RemoteAddr(), err)
				conn.Close()
				return
			}
			l.ready <- pc
		}()
	}
}

// Accept returns the next connection whose header was read.
func (l *proxyListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case err := <-l.errs:
		l.errs <- err // for later calls
		return nil, err
	}
}

// proxiedConn is a connection after its PROXY header: reads go through the reader that read the
// header, and RemoteAddr is the client the header names.
type proxiedConn struct {
	net.Conn
	r      *bufio.Reader
	client net.Addr
}

func (c *proxiedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
func (c *proxiedConn) RemoteAddr() net.Addr       { return c.client }

// readProxyHeader reads a version 1 or 2 header from conn.
func readProxyHeader(conn net.Conn) (*proxiedConn, error) {
	conn.SetReadDeadline(time.Now().Add(proxyHeaderTimeout))
	defer conn.SetReadDeadline(time.Time{})
	r := bufio.NewReader(conn)
	start, err := r.Peek(len(v2Signature))
	if err != nil {
		return nil, fmt.Errorf("reading a PROXY header: %w", err)
	}
	var client netip.AddrPort
	if string(start) == v2Signature {
		client, err = readV2(r)
	} else {
		client, err = readV1(r)
	}
	if err != nil {
		return nil, err
	}
	return &proxiedConn{Conn: conn, r: r, client: net.TCPAddrFromAddrPort(client)}, nil
}

// readV1 reads "PROXY TCP4|TCP6 src dst sport dport\r\n" (at most 107 bytes).
func readV1(r *bufio.Reader) (netip.AddrPort, error) {
	line, err := r.ReadSlice('\n')
	if err != nil || len(line) > 107 || !bytes.HasSuffix(line, []byte("\r\n")) {
		return netip.AddrPort{}, fmt.Errorf("PROXY v1 header %q: not a line of at most 107 bytes", line)
	}
	f := strings.Split(strings.TrimSuffix(string(line), "\r\n"), " ")
	if len(f) != 6 || f[0] != "PROXY" || (f[1] != "TCP4" && f[1] != "TCP6") {
		return netip.AddrPort{}, fmt.Errorf("PROXY v1 header %q: want PROXY TCP4|TCP6 src dst sport dport", line)
	}
	addr, err := netip.ParseAddr(f[2])
	port, perr := strconv.ParseUint(f[4], 10, 16)
	if err != nil || perr != nil || addr.Is4() != (f[1] == "TCP4") {
		return netip.AddrPort{}, fmt.Errorf("PROXY v1 header %q: bad source", line)
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// readV2 reads a binary header with the PROXY command over TCP.
func readV2(r *bufio.Reader) (netip.AddrPort, error) {
	var fixed [16]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return netip.AddrPort{}, fmt.Errorf("PROXY v2 header: %w", err)
	}
	body := make([]byte, binary.BigEndian.Uint16(fixed[14:]))
	if _, err := io.ReadFull(r, body); err != nil {
		return netip.AddrPort{}, fmt.Errorf("PROXY v2 header: %w", err)
	}
	switch {
	case fixed[12] != 0x21:
		return netip.AddrPort{}, fmt.Errorf("PROXY v2 header: version/command %#x, want 0x21", fixed[12])
	case fixed[13] == 0x11 && len(body) >= 12:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:])), nil
	case fixed[13] == 0x21 && len(body) >= 36:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])), binary.BigEndian.Uint16(body[32:])), nil
	}
	return netip.AddrPort{}, errors.New("PROXY v2 header: not TCP over IPv4 or IPv6")
}
