//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// faultTimeout bounds each client exchange of the faults scenario: reaching it is a hang.
const faultTimeout = 10 * time.Second

// faultCase is one backend fault and what a client of proxyd must see.
type faultCase struct {
	name string
	// try makes one request on a new connection to proxyd and returns its outcome, or why it was
	// wrong.
	try func(c *clientConn) (string, error)
}

// runFaults routes /fault to a backend that breaks exchanges at every stage and /refused to a port
// nobody listens on, sends -faults requests to each fault at once and checks what the clients see:
// the right error status, a response cut short, a closed tunnel, never a hang; and a GET retried
// when the backend closed its idle connection. proxyd's descriptors must then come back to the
// baseline.
func runFaults(ctx context.Context, e *env) *result {
	o := e.opt
	r := newResult("faults")
	fb, err := startFaultBackend()
	if !r.check(err == nil, "fault backend: %v", err) {
		return r
	}
	defer fb.close()
	dead, err := unusedAddr()
	if !r.check(err == nil, "free port: %v", err) {
		return r
	}
	s, before := begin(ctx, e, r, 0, "-r", "/fault="+fb.addr, "-r", "/refused="+dead,
		"--response-header-timeout="+o.responseTimeout.String())
	if s == nil {
		return r
	}
	p := s.proxyd

	rht := o.responseTimeout
	cases := []faultCase{
		statusCase("refused", "/refused/x", 502, 0, faultTimeout),
		statusCase("reset-head", faultResetHead, 502, 0, faultTimeout),
		cutCase("reset-length-body", faultResetLength),
		cutCase("reset-chunked-body", faultResetChunked),
		{"reset-tunnel", expectTunnelClosed},
		statusCase("silent", faultSilent, 504, rht, rht+3*time.Second),
		{"close-idle", expectRetried},
	}
	var summaries []string
	for _, fc := range cases {
		seen, wrong := runFaultCase(fc, p.addr, o.faults)
		line := fmt.Sprintf("%s=%s", fc.name, seen)
		e.logf("%s (errors %d)", line, wrong.errors.Load())
		summaries = append(summaries, line)
		r.check(wrong.errors.Load() == 0, "%s: %d of %d wrong (first: %s)", fc.name, wrong.errors.Load(), o.faults, wrong.firstErrors())
	}
	_, err = p.stats()
	r.check(err == nil, "proxyd gone after the faults: %v", err)
	after, returned := fdsBack(ctx, e, r, p, before.fds, "the faults")

	r.figure("per-fault=%d outcomes: %s", o.faults, strings.Join(summaries, " "))
	r.figure("fds=%d/%d (before/after) fd-return=%s", before.fds, after.fds, returned)
	e.finish(r, p)
	return r
}

// runFaultCase tries fc n times at once and returns the outcomes ("502x20") and the tries' tally,
// whose errors are the wrong outcomes.
func runFaultCase(fc faultCase, addr string, n int) (*outcomes, *tally) {
	var seen outcomes
	var tries tally
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c, err := dialClient(addr, faultTimeout)
			outcome := ""
			if err == nil {
				outcome, err = fc.try(c)
				c.close()
			}
			tries.record(err)
			if err != nil {
				outcome = "wrong"
			}
			seen.add(outcome)
		})
	}
	wg.Wait()
	return &seen, &tries
}

// statusCase is a fault that expectErrorStatus checks.
func statusCase(name, path string, want int, earliest, latest time.Duration) faultCase {
	return faultCase{name, func(c *clientConn) (string, error) { return expectErrorStatus(c, path, want, earliest, latest) }}
}

// cutCase is a fault that expectCut checks.
func cutCase(name, path string) faultCase {
	return faultCase{name, func(c *clientConn) (string, error) { return expectCut(c, path) }}
}

// expectErrorStatus GETs path and wants a complete answer with status want,
// arriving no sooner than earliest and no later than latest. When the connection stays open, a
// GET to the default backend on it must then succeed.
func expectErrorStatus(c *clientConn, path string, want int, earliest, latest time.Duration) (string, error) {
	start := time.Now()
	r, err := c.roundTrip(getRequest(path), start.Add(latest))
	took := time.Since(start)
	switch {
	case err != nil:
		return "", fmt.Errorf("%s: after %.1fs: %w", path, took.Seconds(), err)
	case r.status != want:
		return "", fmt.Errorf("%s: status %d, want %d", path, r.status, want)
	case took < earliest:
		return "", fmt.Errorf("%s: %d after %.1fs, sooner than %s", path, want, took.Seconds(), earliest)
	case r.close:
		return fmt.Sprint(r.status), nil
	}
	after := target{"/after-fault", nameDefault}
	if _, err := after.get(c, faultTimeout); err != nil {
		return "", fmt.Errorf("%s: the connection kept open after %d fails the next request: %w", path, want, err)
	}
	return fmt.Sprint(r.status), nil
}

// expectCut GETs path, whose backend resets in the middle of the body: the client must see the body
// cut short and the connection closed ("truncated"), the connection closed before a head
// ("closed") or a 502 when the reset overtook the head, and never wait.
func expectCut(c *clientConn, path string) (string, error) {
	r, err := c.roundTrip(getRequest(path), time.Now().Add(faultTimeout))
	switch {
	case err == nil && r.status == http.StatusBadGateway:
		return "502", nil
	case err == nil:
		return "", fmt.Errorf("%s: complete %d answer of %d bytes, want it cut short", path, r.status, len(r.body))
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "", fmt.Errorf("%s: hangs: %w", path, err)
	case strings.Contains(err.Error(), "read body"):
		return "truncated", nil
	}
	return "closed", nil
}

// expectTunnelClosed upgrades a connection through proxyd, checks one echo and wants the client
// connection closed once the backend resets the tunnel.
func expectTunnelClosed(c *clientConn) (string, error) {
	c.nc.SetDeadline(time.Now().Add(faultTimeout))
	req := "GET " + faultResetTunnel + " HTTP/1.1\r\nHost: soak\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c.nc, req); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return "", fmt.Errorf("upgrade: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return "", fmt.Errorf("upgrade: status %d, want 101", resp.StatusCode)
	}
	echo := make([]byte, len(tunnelHello))
	if _, err := io.WriteString(c.nc, tunnelHello); err != nil {
		return "", err
	}
	if _, err := io.ReadFull(c.br, echo); err != nil || string(echo) != tunnelHello {
		return "", fmt.Errorf("echo %q: %v", echo, err)
	}
	if _, err := io.WriteString(c.nc, tunnelAgain); err != nil {
		return "", err
	}
	n, err := io.Copy(io.Discard, c.br)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "", fmt.Errorf("tunnel still open %s after the backend reset it (%d bytes more)", faultTimeout, n)
	}
	return "closed", nil
}

// expectRetried sends GETs on one connection to a backend that closes each connection right after
// its answer: three in a row, one more after an idle second (when proxyd checks pooled connections
// before reuse). Each must be answered 200 by the backend: a GET that fails on a reused connection
// is retried on a new one.
func expectRetried(c *clientConn) (string, error) {
	for i := range 4 {
		if i == 3 {
			time.Sleep(1200 * time.Millisecond) // an idle gap, not a wait for anything
		}
		t := target{fmt.Sprintf("%s/%d", faultCloseIdle, i), faultName}
		r, err := c.roundTrip(getRequest(t.path), time.Now().Add(faultTimeout))
		if err != nil {
			return "", fmt.Errorf("GET %d: %w", i+1, err)
		}
		if err := t.check(r, "ok"); err != nil {
			return "", fmt.Errorf("GET %d: %w", i+1, err)
		}
	}
	return "200", nil
}

// unusedAddr returns a loopback address nobody listens on (a port the system just gave and took
// back).
func unusedAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
