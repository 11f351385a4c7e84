package metrics

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// scrape serves a GET /metrics with h and returns every series of the text exposition it answered
// with, keyed by the series as written ("name{label=\"value\"}"), whose name starts with prefix.
func scrape(t *testing.T, h http.Handler, prefix string) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: status %d, body %q", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("scrape: Content-Type %q, want the text format", ct)
	}
	series := make(map[string]float64)
	for line := range strings.Lines(rec.Body.String()) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "#") || !strings.HasPrefix(line, prefix) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("scrape: line %q has no value", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape: line %q: %v", line, err)
		}
		if _, dup := series[line[:i]]; dup {
			t.Fatalf("scrape: series %q exposed twice", line[:i])
		}
		series[line[:i]] = v
	}
	return series
}

// histogram returns the series of proxyd_request_duration_seconds for a route that observed
// seconds: each bucket counts the observations at or below its bound.
func histogram(route string, seconds ...float64) map[string]float64 {
	series := make(map[string]float64)
	sum := 0.0
	for _, s := range seconds {
		sum += s
	}
	name := `proxyd_request_duration_seconds`
	for _, le := range append(durationBuckets[:len(durationBuckets):len(durationBuckets)], math.Inf(1)) {
		n := 0
		for _, s := range seconds {
			if s <= le {
				n++
			}
		}
		series[fmt.Sprintf(`%s_bucket{route=%q,le="%s"}`, name, route, strconv.FormatFloat(le, 'g', -1, 64))] = float64(n)
	}
	series[fmt.Sprintf(`%s_sum{route=%q}`, name, route)] = sum
	series[fmt.Sprintf(`%s_count{route=%q}`, name, route)] = float64(len(seconds))
	return series
}

// TestSeries checks every proxyd_ series and its value after a set of calls.
func TestSeries(t *testing.T) {
	m := New()
	api := m.Route("/api")
	def := m.Route(DefaultRoute)
	api.Observe([]byte("GET"), 200, 250*time.Millisecond, 0, 100)
	api.Observe([]byte("GET"), 204, 62500*time.Microsecond, 0, 0)
	api.Observe([]byte("POST"), 502, 2*time.Second, 10, 20)
	m.Route("/api").Observe([]byte("GET"), 200, 500*time.Millisecond, 0, 50) // a reload's new Route
	def.Observe([]byte("BREW"), 499, 32*time.Second, 5, 0)
	def.Observe([]byte("get"), 600, 0, -1, -1)

	b := m.Backend("127.0.0.1:4000")
	b.Dialed()
	b.Dialed()
	b.Failed(DialTimeout)
	b.Failed(Closed)
	m.Backend("127.0.0.1:4000").Failed(Closed)

	m.ClientConnOpened()
	m.ClientConnOpened()
	m.ClientConnClosed()
	m.ClientConnOpened()
	m.H2ConnOpened()
	m.TunnelOpened()
	m.TunnelOpened()
	m.TunnelClosed()
	for range 3 {
		m.StreamOpened()
	}
	for range 3 {
		m.StreamClosed()
	}
	m.RingLoopExchange()
	m.RingLoopExchange()
	m.RingLoopYield()
	m.SetPools(maps.All(map[string]int{"127.0.0.1:4000": 3}))
	m.RoutesLoaded(false)

	want := map[string]float64{
		`proxyd_requests_total{code="2xx",method="GET",route="/api"}`:        3,
		`proxyd_requests_total{code="5xx",method="POST",route="/api"}`:       1,
		`proxyd_requests_total{code="4xx",method="other",route="default"}`:   1,
		`proxyd_requests_total{code="other",method="other",route="default"}`: 1,
		`proxyd_request_body_bytes_total{route="/api"}`:                      10,
		`proxyd_request_body_bytes_total{route="default"}`:                   5,
		`proxyd_response_body_bytes_total{route="/api"}`:                     170,
		`proxyd_response_body_bytes_total{route="default"}`:                  0,

		`proxyd_backend_dials_total{backend="127.0.0.1:4000"}`:                                        2,
		`proxyd_backend_failures_total{backend="127.0.0.1:4000",cause="dial_failed",code="502"}`:      0,
		`proxyd_backend_failures_total{backend="127.0.0.1:4000",cause="dial_timeout",code="504"}`:     1,
		`proxyd_backend_failures_total{backend="127.0.0.1:4000",cause="closed",code="502"}`:           2,
		`proxyd_backend_failures_total{backend="127.0.0.1:4000",cause="invalid_response",code="502"}`: 0,
		`proxyd_backend_failures_total{backend="127.0.0.1:4000",cause="response_timeout",code="504"}`: 0,
		`proxyd_backend_failures_total{backend="127.0.0.1:4000",cause="stalled",code="504"}`:          0,
		`proxyd_backend_failures_total{backend="127.0.0.1:4000",cause="body_failed",code="502"}`:      0,
		`proxyd_backend_idle_connections{backend="127.0.0.1:4000"}`:                                   3,

		`proxyd_client_connections_open`:   2,
		`proxyd_client_connections_total`:  3,
		`proxyd_http2_connections_open`:    1,
		`proxyd_http2_connections_total`:   1,
		`proxyd_tunnels_open`:              1,
		`proxyd_tunnels_total`:             2,
		`proxyd_http2_streams_open`:        0,
		`proxyd_http2_streams_total`:       3,
		`proxyd_ring_loop_exchanges_total`: 2,
		`proxyd_ring_loop_yields_total`:    1,

		`proxyd_route_reloads_total{result="failure"}`:       1,
		`proxyd_route_reloads_total{result="success"}`:       0,
		`proxyd_route_last_reload_success_timestamp_seconds`: 0,
	}
	maps.Copy(want, histogram("/api", 0.25, 0.0625, 2, 0.5))
	maps.Copy(want, histogram("default", 32, 0))
	if diff := cmp.Diff(want, scrape(t, m.Handler(), "proxyd_")); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
}

// TestRoutesLoaded checks the reload counters and that a success records the time it happened.
func TestRoutesLoaded(t *testing.T) {
	m := New()
	before := float64(time.Now().UnixNano()) / 1e9
	m.RoutesLoaded(true)
	after := float64(time.Now().UnixNano()) / 1e9
	m.RoutesLoaded(false)
	m.RoutesLoaded(false)
	got := scrape(t, m.Handler(), "proxyd_route_")
	if ts := got[`proxyd_route_last_reload_success_timestamp_seconds`]; ts < before || ts > after {
		t.Errorf("last success at %f, want within [%f, %f]", ts, before, after)
	}
	delete(got, `proxyd_route_last_reload_success_timestamp_seconds`)
	want := map[string]float64{
		`proxyd_route_reloads_total{result="failure"}`: 2,
		`proxyd_route_reloads_total{result="success"}`: 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
}

// TestPools checks that the idle connection gauges are read from the pools at every scrape.
func TestPools(t *testing.T) {
	m := New()
	const name = "proxyd_backend_idle_connections"
	if got := scrape(t, m.Handler(), name); len(got) != 0 {
		t.Errorf("before SetPools: %v, want no series", got)
	}

	idle := map[string]int{"127.0.0.1:3000": 2}
	m.SetPools(maps.All(idle))
	if diff := cmp.Diff(map[string]float64{
		name + `{backend="127.0.0.1:3000"}`: 2,
	}, scrape(t, m.Handler(), name)); diff != "" {
		t.Errorf("first scrape (-want +got):\n%s", diff)
	}

	idle["127.0.0.1:3000"] = 5
	idle["[::1]:4000"] = 0
	if diff := cmp.Diff(map[string]float64{
		name + `{backend="127.0.0.1:3000"}`: 5,
		name + `{backend="[::1]:4000"}`:     0,
	}, scrape(t, m.Handler(), name)); diff != "" {
		t.Errorf("after the pools changed (-want +got):\n%s", diff)
	}

	// A backend with a pool per protocol is yielded twice and exposed once, with the sum.
	m.SetPools(func(yield func(string, int) bool) {
		_ = yield("127.0.0.1:5000", 1) && yield("127.0.0.1:5000", 4)
	})
	if diff := cmp.Diff(map[string]float64{
		name + `{backend="127.0.0.1:5000"}`: 5,
	}, scrape(t, m.Handler(), name)); diff != "" {
		t.Errorf("after a reload (-want +got):\n%s", diff)
	}

	m.SetPools(nil)
	if got := scrape(t, m.Handler(), name); len(got) != 0 {
		t.Errorf("after SetPools(nil): %v, want no series", got)
	}
}

// TestRuntimeCollectors checks that the registry exposes the Go runtime and the process.
func TestRuntimeCollectors(t *testing.T) {
	got := scrape(t, New().Handler(), "")
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_start_time_seconds"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no series %s", name)
		}
	}
}

// TestMethodClass checks the method label of each method class, and that methods are
// case-sensitive.
func TestMethodClass(t *testing.T) {
	for method, want := range map[string]string{
		"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH",
		"DELETE": "DELETE", "OPTIONS": "OPTIONS", "CONNECT": "CONNECT",
		"TRACE": "other", "PROPFIND": "other", "get": "other", "GETS": "other", "GE": "other", "": "other",
	} {
		if got := methodClassOf([]byte(method)).String(); got != want {
			t.Errorf("method %q: class %q, want %q", method, got, want)
		}
	}
}

// TestCodeClass checks the status class of statuses at the edges of each class.
func TestCodeClass(t *testing.T) {
	for status, want := range map[int]string{
		100: "1xx", 199: "1xx", 200: "2xx", 304: "3xx", 404: "4xx", 499: "4xx", 500: "5xx", 599: "5xx",
		0: "other", 99: "other", 600: "other", 999: "other", -1: "other",
	} {
		if got := codeClassOf(status).String(); got != want {
			t.Errorf("status %d: class %q, want %q", status, got, want)
		}
	}
}

// TestCause checks each cause's label value and status.
func TestCause(t *testing.T) {
	type answer struct {
		Name string
		Code int
	}
	got := make(map[Cause]answer)
	for c := range causes {
		got[c] = answer{c.String(), c.Code()}
	}
	want := map[Cause]answer{
		DialFailed:      {"dial_failed", 502},
		DialTimeout:     {"dial_timeout", 504},
		Closed:          {"closed", 502},
		InvalidResponse: {"invalid_response", 502},
		ResponseTimeout: {"response_timeout", 504},
		Stalled:         {"stalled", 504},
		BodyFailed:      {"body_failed", 502},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("causes (-want +got):\n%s", diff)
	}
	if got := Cause(200).String(); got != "Cause(200)" {
		t.Errorf("Cause(200).String() = %q", got)
	}
}

// TestNil checks that every method is a no-op on nil receivers, as when metrics are off.
func TestNil(t *testing.T) {
	var m *Metrics
	if r := m.Route("/api"); r != nil {
		t.Errorf("nil Metrics: Route = %v, want nil", r)
	}
	if b := m.Backend("127.0.0.1:1"); b != nil {
		t.Errorf("nil Metrics: Backend = %v, want nil", b)
	}
	m.Route("/api").Observe([]byte("GET"), 200, time.Second, 1, 1)
	m.Backend("127.0.0.1:1").Dialed()
	m.Backend("127.0.0.1:1").Failed(BodyFailed)
	m.ClientConnOpened()
	m.ClientConnClosed()
	m.H2ConnOpened()
	m.H2ConnClosed()
	m.TunnelOpened()
	m.TunnelClosed()
	m.StreamOpened()
	m.StreamClosed()
	m.SetPools(maps.All(map[string]int{"127.0.0.1:1": 1}))
	m.RoutesLoaded(true)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil Metrics: Handler answered %d, want 404", rec.Code)
	}
}

// TestObserveConcurrent checks that requests completing at once on a route, with a series not yet
// resolved, are all counted.
func TestObserveConcurrent(t *testing.T) {
	const goroutines, each = 8, 1000
	m := New()
	r := m.Route("/api")
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				r.Observe([]byte("PUT"), 201, time.Millisecond, 1, 2)
			}
		})
	}
	wg.Wait()
	got := scrape(t, m.Handler(), "proxyd_")
	want := map[string]float64{
		`proxyd_requests_total{code="2xx",method="PUT",route="/api"}`:     goroutines * each,
		`proxyd_request_body_bytes_total{route="/api"}`:                   goroutines * each,
		`proxyd_response_body_bytes_total{route="/api"}`:                  2 * goroutines * each,
		`proxyd_request_duration_seconds_count{route="/api"}`:             goroutines * each,
		`proxyd_request_duration_seconds_bucket{route="/api",le="0.001"}`: goroutines * each,
	}
	for series, v := range want {
		if got[series] != v {
			t.Errorf("%s = %v, want %v", series, got[series], v)
		}
	}
}

// TestObserveAllocs checks that accounting a request allocates nothing once its series is
// resolved, with the method as bytes (HTTP/1.x) or converted from a string (HTTP/2).
func TestObserveAllocs(t *testing.T) {
	r := New().Route("/api")
	get := []byte("GET")
	post := httptest.NewRequest(http.MethodPost, "/", nil).Method
	r.Observe(get, 200, time.Millisecond, 0, 0)
	r.Observe([]byte(post), 200, time.Millisecond, 0, 0)
	for name, observe := range map[string]func(){
		"bytes":  func() { r.Observe(get, 200, 3*time.Millisecond, 512, 4096) },
		"string": func() { r.Observe([]byte(post), 200, 3*time.Millisecond, 512, 4096) },
	} {
		if n := testing.AllocsPerRun(1000, observe); n != 0 {
			t.Errorf("%s: Observe allocates %v times per call, want 0", name, n)
		}
	}
}
