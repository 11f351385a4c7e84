package h2upstream

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"proxyd.dev/proxyd/internal/h2/h2test"
	"proxyd.dev/proxyd/internal/h2conn"
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

// TestStartedCallComplete checks what done learns of a started call's response: complete, with
// its body held (Buffered), when the whole response came in one read, and then the connection
// done returns, with writes left pending on it, is flushed by the reader once its batch of frames
// is handled; not complete when the head came alone.
func TestStartedCallComplete(t *testing.T) {
	sendBody := make(chan struct{})
	be := h2test.StartRawServer(t, func(c *h2test.RawServerConn) {
		for {
			h, err := c.Request()
			if err != nil {
				return
			}
			if h.PseudoValue("path") != "/head-first" {
				c.RespondAtOnce(h.StreamID, "whole")
				continue
			}
			c.WriteHeaders(h.StreamID, false, hf(":status", "202"))
			<-sendBody
			c.Framer().WriteData(h.StreamID, true, []byte("later"))
		}
	})
	tr := newTransport(t, be.Addr())
	get(t, tr, be.URL()+"/first")
	client, peer := h2test.TCPPair(t)
	out := h2conn.New(client, 0, 0, nil)

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
	close(sendBody)
	checkResult(t, call, http.StatusAccepted, "later")
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
