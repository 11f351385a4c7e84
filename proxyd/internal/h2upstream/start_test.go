package h2upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/h2conn"
	"proxyd.dev/proxyd/internal/loopback"
)

// TestReserveAndStart checks the started calls: Reserve finds no room before a connection is open
// (it never dials), then a started request reaches the backend once flushed, done is called once
// with the call, and Result returns the response as RoundTrip would.
func TestReserveAndStart(t *testing.T) {
	be := startGo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("answer to " + r.URL.Path))
	}), nil)
	tr := newTransport(t, be.addr)
	if _, ok := tr.Reserve(); ok {
		t.Fatal("Reserve found room before any connection was open")
	}
	call, done := startOnOpenConn(t, tr, be.url, "/started")
	got := waitFor(t, done, "the started call's head")
	if got != call {
		t.Error("done was called with another call than Start returned")
	}
	resp, err := got.Result()
	if err != nil {
		t.Fatalf("Result: %v", err)
	}
	if body := mustReadAll(t, resp.Body); string(body) != "answer to /started" {
		t.Errorf("body %q, want %q", body, "answer to /started")
	}
	resp.Body.Close()
	if len(done) != 0 {
		t.Error("done was called more than once")
	}
	if n := be.opened.Load(); n != 1 {
		t.Errorf("the backend saw %d connections, want 1", n)
	}
}

// TestStartedCallCancel cancels a started call whose head has not come: done is called, Result
// fails with the cause, the backend's request ends (its stream was reset), and the connection
// serves the next request.
func TestStartedCallCancel(t *testing.T) {
	entered := make(chan struct{}, 1)
	ended := make(chan struct{}, 1)
	be := startGo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/held" {
			entered <- struct{}{}
			<-r.Context().Done()
			ended <- struct{}{}
			return
		}
		w.Write([]byte("ok"))
	}), nil)
	tr := newTransport(t, be.addr)
	call, done := startOnOpenConn(t, tr, be.url, "/held")
	waitFor(t, entered, "the started request at the backend")
	cause := errors.New("client went away")
	call.Cancel(cause)
	waitFor(t, done, "done after Cancel")
	if _, err := call.Result(); !errors.Is(err, cause) {
		t.Errorf("Result after Cancel: %v, want %v", err, cause)
	}
	waitFor(t, ended, "the backend's request to end")
	if _, body := get(t, tr, be.url+"/next"); body != "ok" {
		t.Errorf("the next request got %q, want ok", body)
	}
	Call{}.Cancel(cause) // the zero Call: nothing to cancel
}

// TestStartedCallComplete checks when done is called and what it learns of a started call's
// response: complete, with its body held (Buffered), when the whole response came in one read,
// and then the connection done returns, with writes left pending on it, is flushed by the reader
// once its batch of frames is handled; not complete when the head of a body of unknown length
// came alone. For a body of known length done waits for the body's first bytes, or its end, or
// the stream's failure.
func TestStartedCallComplete(t *testing.T) {
	settled, release := make(chan struct{}), make(chan struct{})
	// holdHead sends a head of a body of known length alone, lets the test see that done waits,
	// and then sends the rest of the stream with rest.
	holdHead := func(c *h2test.RawServerConn, id uint32, length string, rest func()) {
		c.WriteHeaders(id, false, hf(":status", "200"), hf("content-length", length))
		// Two PINGs, one after the other's acknowledgement: the client has handled the head's
		// batch of frames before it reads the second.
		if c.Ping() != nil || c.Ping() != nil {
			return
		}
		settled <- struct{}{}
		<-release
		rest()
	}
	be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		for {
			h, err := c.Request()
			if err != nil {
				return
			}
			id := h.StreamID
			switch h.PseudoValue("path") {
			case "/head-first":
				c.WriteHeaders(id, false, hf(":status", "202"))
				<-release
				c.Framer().WriteData(id, true, []byte("later"))
			case "/known-length":
				holdHead(c, id, "5", func() { c.Framer().WriteData(id, true, []byte("later")) })
			case "/empty-with-trailer":
				holdHead(c, id, "0", func() { c.WriteHeaders(id, true, hf("x-end", "1")) })
			case "/reset":
				holdHead(c, id, "5", func() { c.Framer().WriteRSTStream(id, http2.ErrCodeInternal) })
			default:
				c.RespondAtOnce(id, "whole")
			}
		}
	})
	tr := newTransport(t, be.Addr())
	get(t, tr, be.URL()+"/first")
	client, peer := loopback.Pair(t)
	rc, err := client.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	out := h2conn.New(client, rc, nil, nil, 0, 0, nil)

	type handed struct {
		call     Call
		complete bool
		buffered int
	}
	done := make(chan handed, 2)
	start := func(path string) Call {
		room, ok := tr.Reserve()
		if !ok {
			t.Fatal("Reserve found no room on the open connection")
		}
		call := room.Start(newRequest(t, http.MethodGet, be.URL()+path, nil), func(c Call, complete bool) *h2conn.Conn {
			if !complete {
				done <- handed{call: c}
				return nil
			}
			done <- handed{call: c, complete: true, buffered: c.Buffered()}
			out.LockUnbounded()
			out.WriteString("relayed on the reader")
			out.UnlockLater()
			return out
		})
		call.Flush()
		return call
	}
	// startHeld starts a call to path, whose head the backend holds back the rest of the stream
	// after, checks that done waits meanwhile, lets the backend go on and returns what done got.
	startHeld := func(path string) handed {
		call := start(path)
		waitFor(t, settled, "the backend to send the head of "+path)
		if len(done) > 0 {
			t.Errorf("%s: done was called with only the head of a body of known length", path)
		}
		release <- struct{}{}
		got := waitFor(t, done, "done of "+path)
		if got.call != call {
			t.Errorf("%s: done got another call than Start returned", path)
		}
		return got
	}

	call := start("/whole")
	if got := waitFor(t, done, "the whole response's done"); got.call != call || !got.complete || got.buffered != len("whole") {
		t.Errorf("done got complete %v with %d bytes held, want true with %d", got.complete, got.buffered, len("whole"))
	}
	flushed := make([]byte, len("relayed on the reader"))
	peer.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(peer, flushed); err != nil || string(flushed) != "relayed on the reader" {
		t.Errorf("the connection done returned got %q, %v; want its pending writes flushed", flushed, err)
	}
	checkResult(t, call, http.StatusOK, "whole")

	call = start("/head-first")
	if got := waitFor(t, done, "the head-first response's done"); got.complete {
		t.Error("done found the response complete while only its head had come")
	}
	release <- struct{}{}
	checkResult(t, call, http.StatusAccepted, "later")

	if got := startHeld("/known-length"); !got.complete || got.buffered != len("later") {
		t.Errorf("/known-length: done got complete %v with %d bytes held, want true with %d", got.complete, got.buffered, len("later"))
	}
	got := startHeld("/empty-with-trailer")
	if !got.complete {
		t.Error("/empty-with-trailer: done found the response not complete once its trailer came")
	}
	resp, err := got.call.Result()
	if err != nil {
		t.Fatalf("/empty-with-trailer: %v", err)
	}
	if body := mustReadAll(t, resp.Body); len(body) != 0 || resp.Trailer.Get("X-End") != "1" {
		t.Errorf("/empty-with-trailer: body %q, trailer %v; want none and X-End: 1", body, resp.Trailer)
	}
	resp.Body.Close()
	if got := startHeld("/reset"); got.complete {
		t.Error("/reset: done found a reset stream complete")
	} else if resp, err := got.call.Result(); err == nil {
		if _, err := readAll(t, resp.Body); err == nil {
			t.Error("/reset: the body of a stream the backend reset read to its end")
		}
		resp.Body.Close()
	}
}

// checkResult checks that the call's response has the status and the body given.
func checkResult(t *testing.T, call Call, status int, body string) {
	t.Helper()
	resp, err := call.Result()
	if err != nil {
		t.Fatalf("Result: %v", err)
	}
	defer resp.Body.Close()
	if got := mustReadAll(t, resp.Body); resp.StatusCode != status || string(got) != body {
		t.Errorf("got %d %q, want %d %q", resp.StatusCode, got, status, body)
	}
}

// startOnOpenConn opens a connection to the backend at url with a GET of /first, reserves room on
// it, and starts and flushes a GET of path there; it returns the call and the channel done sends
// it on.
func startOnOpenConn(t *testing.T, tr *Transport, url, path string) (Call, <-chan Call) {
	t.Helper()
	get(t, tr, url+"/first")
	room, ok := tr.Reserve()
	if !ok {
		t.Fatal("Reserve found no room on the open connection")
	}
	done := make(chan Call, 2)
	call := room.Start(newRequest(t, http.MethodGet, url+path, nil), func(c Call, _ bool) *h2conn.Conn {
		done <- c
		return nil
	})
	call.Flush()
	return call, done
}

// TestAwaitRoom checks the streams that wait for a connection: with none open, every call of
// AwaitRoom waits for one dial, no ready is called before it ends, and then each ready is called
// once, with room on a connection; those the connection has no room for
// (two streams a connection here, each held by the backend until all have come) wait for the
// next dial, one at a time. The transport flushes what the readies started: every request
// reaches the backend and is answered.
func TestAwaitRoom(t *testing.T) {
	checkGoroutines(t)
	const n = 5
	be := startGated(t, newGate(n), &http.HTTP2Config{MaxConcurrentStreams: 2})
	tr := newTransport(t, be.addr)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var dials atomic.Int32
	tr.Dial = func(ctx context.Context) (net.Conn, error) {
		dials.Add(1)
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		return dialer(be.addr)(ctx)
	}
	readied := make(chan int, n)
	done := make(chan Call, n)
	for i := range n {
		ok := tr.AwaitRoom(func(room Reservation, err error) {
			if err != nil {
				t.Errorf("waiter %d: %v", i, err)
				return
			}
			readied <- i
			path := fmt.Sprintf("/%d", i)
			room.Start(newRequest(t, http.MethodGet, be.url+path, nil), func(c Call, _ bool) *h2conn.Conn {
				done <- c
				return nil
			})
		})
		if !ok {
			t.Fatalf("AwaitRoom %d reported a connection with room; none is open", i)
		}
	}
	waitFor(t, entered, "the dial")
	if d := dials.Load(); d != 1 {
		t.Errorf("%d dials under way for %d waiters, want 1", d, n)
	}
	if len(readied) != 0 {
		t.Error("a ready was called before the dial ended")
	}
	close(release)
	seen := make(map[int]bool)
	for range n {
		i := waitFor(t, readied, "the next ready")
		if seen[i] {
			t.Errorf("ready of waiter %d called twice", i)
		}
		seen[i] = true
	}
	bodies := make(map[string]bool)
	for range n {
		resp, err := waitFor(t, done, "a started call's head").Result()
		if err != nil {
			t.Fatalf("Result: %v", err)
		}
		bodies[string(mustReadAll(t, resp.Body))] = true
		resp.Body.Close()
	}
	for i := range n {
		if want := fmt.Sprintf("/%d", i); !bodies[want] {
			t.Errorf("no response %q among %v", want, bodies)
		}
	}
	if d, o := dials.Load(), be.opened.Load(); d != 3 || o != 3 {
		t.Errorf("%d dials and %d connections at the backend for %d streams at 2 a connection, want 3", d, o, n)
	}
}

// TestAwaitRoomFails checks that every waiter learns why no connection came: the dial's error,
// or, from a backend that takes no stream (SETTINGS_MAX_CONCURRENT_STREAMS 0), errNoRoom after one
// dial rather than dials without end.
func TestAwaitRoomFails(t *testing.T) {
	checkGoroutines(t)
	full := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		for {
			if _, err := c.Next(); err != nil {
				return
			}
		}
	}, http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 0})
	for _, tc := range []struct {
		name, addr string
		want       func(error) bool
	}{
		{"closed port", loopback.ClosedAddr(t), func(err error) bool { return opError(err, "dial") }},
		{"no room", full.Addr(), func(err error) bool { return errors.Is(err, errNoRoom) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTransport(t, tc.addr)
			failed := make(chan error, 2)
			for range 2 {
				if !tr.AwaitRoom(func(_ Reservation, err error) { failed <- err }) {
					t.Fatal("AwaitRoom reported a connection with room; none is open")
				}
			}
			for range 2 {
				if err := waitFor(t, failed, "the waiter's error"); !tc.want(err) {
					t.Errorf("waiter got %v (%T)", err, err)
				}
			}
		})
	}
}
