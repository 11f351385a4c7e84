package engine

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/routetest"
)

// heldRequest is a request whose response the scripted backend holds until the test releases it.
const heldRequest = "GET /held HTTP/1.1\r\nHost: example.test\r\n\r\n"

// shutdownAsync runs Shutdown with a context of the given timeout and delivers its result.
func shutdownAsync(p *proxy, timeout time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		done <- p.srv.Shutdown(ctx)
	}()
	return done
}

// result waits for a Shutdown result.
func result(t *testing.T, done <-chan error) error {
	t.Helper()
	return receive(t, done, "Shutdown to return")
}

// expectRefused checks that the proxy accepts no new connection.
func expectRefused(t *testing.T, addr string) {
	t.Helper()
	if nc, err := net.Dial("tcp", addr); err == nil {
		nc.Close()
		t.Error("a new connection was accepted after Shutdown")
	}
}

// TestShutdownGraceful shuts down with a request in flight and an idle keep-alive connection: the
// idle one is closed at once and new connections are refused, while the in-flight response
// completes, marked "Connection: close", before its connection closes; Shutdown returns nil.
func TestShutdownGraceful(t *testing.T) {
	be, idleBackend := startScripted(t), startEcho(t, "idle")
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr(), "/idle="+idleBackend.addr())))

	idle := dial(t, p.addr)
	const idleReq = "GET /idle HTTP/1.1\r\nHost: example.test\r\n\r\n"
	idle.send(idleReq)
	idle.response(false)

	busy := dial(t, p.addr)
	busy.send(heldRequest)
	b := be.next()
	b.request()

	done := shutdownAsync(p, waitLimit)
	idle.expectEOF()
	expectRefused(t, p.addr)
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	default:
	}

	b.send("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-After: 1\r\n\r\ndone")
	want := "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-After: 1\r\nConnection: close\r\n\r\ndone"
	if diff := cmp.Diff(want, busy.response(false)); diff != "" {
		t.Errorf("in-flight response (-want +got):\n%s", diff)
	}
	busy.expectEOF()
	if err := result(t, done); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestShutdownGraceExpires shuts down with a grace period shorter than a held response and an
// open tunnel need: Shutdown returns the context's error, and every connection, client and backend
// side, tunnel too, has been closed by then.
func TestShutdownGraceExpires(t *testing.T) {
	be := startScripted(t)
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr())))
	ws := dial(t, p.addr)
	tunnelled := openTunnel(t, ws, be)
	busy := dial(t, p.addr)
	busy.send(heldRequest)
	held := be.next()
	held.request()

	done := shutdownAsync(p, 100*time.Millisecond)
	if err := result(t, done); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown returned %v, want %v", err, context.DeadlineExceeded)
	}
	for _, c := range []*peer{busy, ws, held, tunnelled} {
		c.expectEOF()
	}
}

// TestShutdownGraceExpiresWithin is TestShutdownGraceExpires for a held request that a busy
// keep-alive connection serves within its wait for a request (clientConn.serveWithin): the
// connection is ended at once all the same, not once the backend answers.
func TestShutdownGraceExpiresWithin(t *testing.T) {
	be, echo := startScripted(t), startEcho(t, "echo")
	p := startProxy(t, testConfig(t, routetest.Table(t, be.addr(), "/echo="+echo.addr())))
	busy := dial(t, p.addr)
	makeBusy(busy, "GET /echo HTTP/1.1\r\nHost: example.test\r\n\r\n", nil)
	busy.send(heldRequest)
	held := be.next()
	held.request()

	start := time.Now()
	done := shutdownAsync(p, 100*time.Millisecond)
	if err := result(t, done); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown returned %v, want %v", err, context.DeadlineExceeded)
	}
	within(t, "Shutdown returned", time.Since(start), 100*time.Millisecond)
	busy.expectEOF()
	held.expectEOF()
}

// TestServeAfterShutdown starts serving only once Shutdown has returned, as happens when a signal
// comes before the goroutine that serves has started: Serve returns nil at once, its listener
// closed, rather than accepting forever.
func TestServeAfterShutdown(t *testing.T) {
	srv := New(testConfig(t, routetest.Table(t, "127.0.0.1:1")))
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve after Shutdown returned %v, want nil", err)
		}
	case <-time.After(waitLimit):
		ln.Close()
		t.Fatal("Serve after Shutdown is still accepting")
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept on Serve's listener after it returned: %v, want %v", err, net.ErrClosed)
	}
}

// TestCloseIfWaitingDuringIdleRead shuts down a connection whose idle read is inside its callback,
// which then updates the lifetime, as readIdle does when it gives the backend connection back: the
// close waits for the callback, so it must not hold the lifetime's lock meanwhile.
func TestCloseIfWaitingDuringIdleRead(t *testing.T) {
	_, client := loopback.Pair(t)
	l, rc := waitingLifetime(t, client)
	inside, proceed, read := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(read)
		rc.Read(func(uintptr) bool {
			close(inside)
			<-proceed
			l.useBackend(nil) // takes the lifetime's lock
			return true
		})
	}()
	<-inside
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		l.closeIfWaiting()
	}()
	// Once the close has begun, the descriptor refuses new operations; the close itself waits for
	// the read's callback.
	limit := time.Now().Add(waitLimit)
	for rc.Control(func(uintptr) {}) == nil {
		if time.Now().After(limit) {
			t.Fatal("the close did not begin")
		}
	}
	close(proceed)
	for _, ch := range []chan struct{}{read, closed} {
		receive(t, ch, "closeIfWaiting and the idle read's callback, which deadlock if the close holds the lifetime's lock")
	}
}
