package h2upstream

import (
	"errors"
	"net/http"
	"testing"
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
	call := room.Start(newRequest(t, http.MethodGet, url+path, nil), func(c Call) { done <- c })
	call.Flush()
	return call, done
}
