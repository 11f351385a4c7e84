package integration

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/integration/backend/api"
)

// propagationTimeout bounds the wait for the backend to see a stream open or close (10 s; it
// takes milliseconds).
const propagationTimeout = 10 * time.Second

// maxEventLines bounds the lines read for one server-sent event (10).
const maxEventLines = 10

// TestSSEThroughProxy runs the server-sent events checks through a route of proxyd, with and
// without ring loops (whose loop hands a response that does not come whole to a goroutine).
func TestSSEThroughProxy(t *testing.T) {
	t.Parallel()
	for _, ringLoops := range []bool{false, true} {
		t.Run(fmt.Sprintf("ring-loops=%v", ringLoops), func(t *testing.T) {
			t.Parallel()
			b := startBackend(t, api.ModeSSE, "sse")
			// Nothing listens at the default backend: only the route is used.
			proxy := startProxyLoops(t, ringLoops, freeAddr(t), "-r", "/events="+b.addr)
			checkSSE(t, newClient(t), "http://"+proxy+"/events/feed", b)
		})
	}
}

// checkSSE opens the event stream at streamURL (served by b, directly or through proxyd) and
// checks that each event arrives while the stream stays open, before the next one is even sent,
// and that the client's disconnect ends the stream at b.
func checkSSE(t *testing.T, c *http.Client, streamURL string, b *backend) {
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()
	resp := send(t, ctx, c, streamURL)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		t.Fatalf("GET %s: status %d, Content-Type %q; want 200, text/event-stream", streamURL, resp.StatusCode, ct)
	}
	control := newClient(t)
	waitSSEStatus(t, control, b, api.SSEStatus{Opened: 1})

	events := bufio.NewReader(resp.Body)
	for i, data := range []string{"one", "two", "three"} {
		// The backend answers /next only once the event is flushed; the next event is sent
		// only after this one was read here.
		resp, body := get(t, control, b.url(api.PathNext+"?"+api.QueryData+"="+data))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("sending event %q: status %d, body %q", data, resp.StatusCode, body)
		}
		want := fmt.Sprintf("id: %d\ndata: %s\n", i+1, data)
		if got := readEvent(t, events); got != want {
			t.Fatalf("event %d is %q, want %q", i+1, got, want)
		}
	}

	resp.Body.Close() // the client goes away
	waitSSEStatus(t, control, b, api.SSEStatus{Opened: 1, Closed: 1})
}

// waitSSEStatus waits until b's stream counts reach want and checks they are not above it.
func waitSSEStatus(t *testing.T, c *http.Client, b *backend, want api.SSEStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), propagationTimeout)
	defer cancel()
	resp := send(t, ctx, c, b.url(fmt.Sprintf("%s?%s=%d&%s=%d",
		api.PathStatus, api.QueryOpened, want.Opened, api.QueryClosed, want.Closed)))
	body := readBody(t, resp)
	var got api.SSEStatus
	decodeJSON(t, resp, body, &got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("event streams at the backend (-want +got):\n%s", diff)
	}
}

// readEvent reads one event, up to its blank line, and returns its lines.
func readEvent(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var event strings.Builder
	for range maxEventLines {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading an event after %q: %v", event.String(), err)
		}
		if line == "\n" {
			return event.String()
		}
		event.WriteString(line)
	}
	t.Fatalf("no end of event within %d lines: %q", maxEventLines, event.String())
	return ""
}
