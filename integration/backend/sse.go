package main

import (
	"fmt"
	"log"
	"net/http"
	"sync"

	"proxyd.dev/integration/backend/api"
)

// maxStreams bounds the counts api.PathStatus can be asked to wait for (1,000,000).
const maxStreams = 1_000_000

// event is one event handed from an api.PathNext request to a stream. The stream reports on sent
// (buffered, capacity 1) once the event is written and flushed, or failed to be.
type event struct {
	data string
	sent chan error
}

// sseHub hands events from api.PathNext requests to open streams and counts the streams.
type sseHub struct {
	events chan event

	mu     sync.Mutex
	status api.SSEStatus
	// changed is closed, and replaced, on every change of status.
	changed chan struct{}
}

// newSSEMux returns the handler of api.ModeSSE.
func newSSEMux() *pathMux {
	h := &sseHub{events: make(chan event), changed: make(chan struct{})}
	return &pathMux{
		endpoints: map[string]http.HandlerFunc{
			api.PathNext:   h.serveNext,
			api.PathStatus: h.serveStatus,
		},
		fallback: http.HandlerFunc(h.serveStream),
	}
}

// update changes the status under the lock and wakes every waiting api.PathStatus request.
func (h *sseHub) update(change func(*api.SSEStatus)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	change(&h.status)
	close(h.changed)
	h.changed = make(chan struct{})
}

// snapshot returns the status and the channel that is closed on its next change.
func (h *sseHub) snapshot() (api.SSEStatus, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status, h.changed
}

// serveStream sends the head at once, then one event per api.PathNext request, until the client
// goes away.
func (h *sseHub) serveStream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		log.Printf("event stream head: %v", err)
		return
	}
	h.update(func(s *api.SSEStatus) { s.Opened++ })
	defer h.update(func(s *api.SSEStatus) { s.Closed++ })
	for id := 1; ; id++ {
		select {
		case <-r.Context().Done():
			log.Printf("event stream closed by the client after %d events", id-1)
			return
		case ev := <-h.events:
			_, err := fmt.Fprintf(w, "id: %d\ndata: %s\n\n", id, ev.data)
			if err == nil {
				err = rc.Flush()
			}
			ev.sent <- err
			if err != nil {
				log.Printf("event stream write: %v", err)
				return
			}
		}
	}
}

// serveNext hands one event to an open stream and answers once it is on the wire.
func (h *sseHub) serveNext(w http.ResponseWriter, r *http.Request) {
	ev := event{data: r.URL.Query().Get(api.QueryData), sent: make(chan error, 1)}
	select {
	case h.events <- ev:
	case <-r.Context().Done():
		return
	}
	if err := <-ev.sent; err != nil {
		http.Error(w, fmt.Sprintf("event %q not sent: %v", ev.data, err), http.StatusBadGateway)
		return
	}
	fmt.Fprintf(w, "sent %q\n", ev.data)
}

// serveStatus answers with the stream counts once they reach the counts asked for.
func (h *sseHub) serveStatus(w http.ResponseWriter, r *http.Request) {
	opened, err := queryInt(r, api.QueryOpened, maxStreams)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	closed, err := queryInt(r, api.QueryClosed, maxStreams)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for {
		s, changed := h.snapshot()
		if int64(s.Opened) >= opened && int64(s.Closed) >= closed {
			writeJSON(w, s)
			return
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		}
	}
}
