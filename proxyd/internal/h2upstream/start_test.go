package h2upstream

import (
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
	get(t, tr, be.url+"/first") // opens a connection
	room, ok := tr.Reserve()
	if !ok {
		t.Fatal("Reserve found no room on the open connection")
	}
	done := make(chan Call, 2)
	call := room.Start(newRequest(t, http.MethodGet, be.url+"/started", nil), func(c Call) { done <- c })
	call.Flush()
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
