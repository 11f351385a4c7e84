package h2

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"proxyd.dev/proxyd/internal/routetest"
)

// armed returns the backends of the timers on l, first to last.
func (l *headTimers) armed() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for t := l.first; t != nil; t = t.next {
		out = append(out, t.backend)
	}
	return out
}

// backends returns the backends of timers.
func backends(timers []*headTimer) []string {
	var out []string
	for _, t := range timers {
		out = append(out, t.backend)
	}
	return out
}

// TestHeadTimersExpireInOrder arms timers at different times and checks that a check takes off
// those, and only those, that have run out, that a stopped timer is gone from the list and fires
// never, and that a timer arms once, and not after stop.
func TestHeadTimersExpireInOrder(t *testing.T) {
	l := headTimers{limit: time.Second}
	t0 := time.Now()
	timer := func(name string) *headTimer { return &headTimer{backend: name, list: &l} }
	a, b, c, d := timer("a"), timer("b"), timer("c"), timer("d")
	a.start(t0)
	b.start(t0.Add(100 * time.Millisecond))
	c.start(t0.Add(200 * time.Millisecond))
	a.start(t0.Add(300 * time.Millisecond)) // armed already: stays where it was
	d.stop()
	d.start(t0) // stopped: never armed
	if diff := cmp.Diff([]string{"a", "b", "c"}, l.armed()); diff != "" {
		t.Fatalf("armed (-want +got):\n%s", diff)
	}
	for _, step := range []struct {
		at   time.Duration
		want []string
	}{
		{999 * time.Millisecond, nil},
		{time.Second, []string{"a"}},
		{1150 * time.Millisecond, []string{"b"}},
	} {
		if diff := cmp.Diff(step.want, backends(l.expired(t0.Add(step.at), nil))); diff != "" {
			t.Errorf("expired at %v (-want +got):\n%s", step.at, diff)
		}
	}
	c.stop()
	if got := l.expired(t0.Add(time.Hour), nil); len(got) != 0 {
		t.Errorf("expired after stop: %v, want none", backends(got))
	}
	a.start(t0) // fired, so stopped
	if got := l.armed(); len(got) != 0 {
		t.Errorf("armed at the end: %v, want none", got)
	}
}

// TestHeadTimerDecidesOnce lets a response head and the timer, both taken off the list to fire,
// race either way: whichever of the response (stop) and the timer's cancellation comes first
// decides, and the other learns it. The response of a request the timer cancelled is not relayed
// (respond answers 504), and the timer cancels no request whose response was taken.
func TestHeadTimerDecidesOnce(t *testing.T) {
	l := headTimers{limit: time.Second}
	t0 := time.Now()
	timerFirst := &headTimer{backend: "timer first", list: &l}
	headFirst := &headTimer{backend: "head first", list: &l}
	timerFirst.start(t0)
	headFirst.start(t0)
	if diff := cmp.Diff([]string{"timer first", "head first"}, backends(l.expired(t0.Add(time.Second), nil))); diff != "" {
		t.Fatalf("expired (-want +got):\n%s", diff)
	}
	if !timerFirst.cancels() {
		t.Error("a timer that fired before any response does not cancel the request")
	}
	if !timerFirst.stop() {
		t.Error("the response of a request the timer cancelled is taken for relaying")
	}
	if headFirst.stop() {
		t.Error("a response that came before the timer cancelled is refused")
	}
	if headFirst.cancels() {
		t.Error("the timer cancels a request whose response was taken")
	}
}

// TestHeadTimersComeBack sends streams that start on the connection's reader and streams that
// start on a handler (a body to upload), over either upstream protocol, and checks that every
// response-header timer left its connection's list once the response came, the connection still
// open.
func TestHeadTimersComeBack(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind.name, func(t *testing.T) {
			be := kind.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			p := startProxy(t, testConfig(t, routetest.Table(t, addr(be))))
			c := newClient(t)
			for range 20 {
				resp, _ := get(t, c, p, "/x")
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET /x: %d, want 200", resp.StatusCode)
				}
				resp, err := c.Post("http://"+p.addr+"/x", "text/plain", strings.NewReader("body"))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			p.srv.active.mu.Lock()
			defer p.srv.active.mu.Unlock()
			if len(p.srv.active.conns) == 0 {
				t.Fatal("no connection open")
			}
			for conn := range p.srv.active.conns {
				if got := conn.heads.armed(); len(got) != 0 {
					t.Errorf("timers armed after every response: %v", got)
				}
			}
		})
	}
}
