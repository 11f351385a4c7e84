// Package metrics counts what proxyd does, for Prometheus: requests per route, method and status
// class with their durations and body bytes, backend dials and failures, open client connections,
// tunnels and HTTP/2 streams, idle backend connections, the ring loops' exchanges and route
// reloads. Every series is named proxyd_* and lives in the Metrics value's own registry, next to
// the Go runtime and process collectors; Handler serves them all.
//
// Accounting on the request path never looks a series up by its label values: a Route or Backend
// resolves its series once, when the route table is built, and the series of a (route, method,
// status class) combination are resolved the first time one of its requests completes and cached,
// so that steady-state accounting is a handful of atomic additions. Every method is a no-op on a nil
// *Metrics, *Route or *Backend, so proxyd without metrics pays one nil check per call.
package metrics

import (
	"iter"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds proxyd's series and the registry that exposes them. It is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	// Series with a route or backend label; Route and Backend resolve their children.
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	requestBytes  *prometheus.CounterVec
	responseBytes *prometheus.CounterVec
	dials         *prometheus.CounterVec
	failures      *prometheus.CounterVec
	// backends caches the *Backend of each address (string to *Backend), resolved by Backend.
	backends sync.Map

	clientConns       openTotal
	h2Conns           openTotal
	tunnels           openTotal
	streams           openTotal
	ringExchanges     prometheus.Counter
	ringYields        prometheus.Counter
	reloadSuccesses   prometheus.Counter
	reloadFailures    prometheus.Counter
	lastReloadSuccess prometheus.Gauge
	pools             *poolCollector
}

// durationBuckets are the upper bounds, in seconds, of the request duration histogram: from half
// a millisecond (a cached answer from a backend next door) to 30 s (a slow report or long poll).
var durationBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New returns proxyd's metrics, all at zero, registered in a new registry together with the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proxyd_requests_total",
			Help: "Requests answered, by route, method (GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT or other) and status class (1xx to 5xx, other); a client that left counts as 4xx (499).",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "proxyd_request_duration_seconds",
			Help:    "Time from a request's head to the end of its response, by route.",
			Buckets: durationBuckets,
		}, []string{"route"}),
		requestBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proxyd_request_body_bytes_total",
			Help: "Request body bytes read from clients, by route.",
		}, []string{"route"}),
		responseBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proxyd_response_body_bytes_total",
			Help: "Response body bytes written to clients, by route.",
		}, []string{"route"}),
		dials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proxyd_backend_dials_total",
			Help: "Connections dialed to a backend, by backend address.",
		}, []string{"backend"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proxyd_backend_failures_total",
			Help: "Exchanges that failed at the backend, by backend address, the status proxyd answered (502 or 504) and cause.",
		}, []string{"backend", "code", "cause"}),
		clientConns: newOpenTotal("proxyd_client_connections",
			"Client connections open, HTTP/2 ones included.",
			"Client connections accepted, HTTP/2 ones included."),
		h2Conns: newOpenTotal("proxyd_http2_connections",
			"Client connections open that opened with the HTTP/2 preface.",
			"Client connections that opened with the HTTP/2 preface."),
		tunnels: newOpenTotal("proxyd_tunnels",
			"Upgraded connections (WebSocket, CONNECT) being tunnelled.",
			"Upgraded connections (WebSocket, CONNECT) tunnelled."),
		streams: newOpenTotal("proxyd_http2_streams",
			"HTTP/2 streams being served.",
			"HTTP/2 streams served."),
		ringExchanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "proxyd_ring_loop_exchanges_total",
			Help: "HTTP/1.x requests sent to a backend from a ring loop.",
		}),
		ringYields: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "proxyd_ring_loop_yields_total",
			Help: "Times a ring loop with work left let other goroutines run, its share of time up.",
		}),
		lastReloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "proxyd_route_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last route table load that succeeded; 0 before the first.",
		}),
		pools: newPoolCollector(),
	}
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "proxyd_route_reloads_total",
		Help: "Route table loads, by result (success or failure).",
	}, []string{"result"})
	m.reloadSuccesses = reloads.WithLabelValues("success")
	m.reloadFailures = reloads.WithLabelValues("failure")
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.requestBytes, m.responseBytes, m.dials, m.failures,
		m.clientConns.open, m.clientConns.total, m.h2Conns.open, m.h2Conns.total,
		m.tunnels.open, m.tunnels.total, m.streams.open, m.streams.total, m.ringExchanges,
		m.ringYields, reloads, m.lastReloadSuccess, m.pools,
	)
	return m
}

// Handler returns the handler that serves the registry in the Prometheus exposition formats; a
// nil *Metrics has nothing to serve and answers 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ClientConnOpened counts a client connection just accepted.
func (m *Metrics) ClientConnOpened() {
	if m != nil {
		m.clientConns.opened()
	}
}

// ClientConnClosed counts the end of a client connection that ClientConnOpened counted.
func (m *Metrics) ClientConnClosed() {
	if m != nil {
		m.clientConns.closed()
	}
}

// RingLoopExchange counts a request that a ring loop sent to a backend.
func (m *Metrics) RingLoopExchange() {
	if m != nil {
		m.ringExchanges.Inc()
	}
}

// RingLoopYield counts a pass of a ring loop that ended with work left, so that other goroutines
// run.
func (m *Metrics) RingLoopYield() {
	if m != nil {
		m.ringYields.Inc()
	}
}

// H2ConnOpened counts a client connection that opened with the HTTP/2 preface and is served as
// HTTP/2 from now on; it stays counted by ClientConnOpened too.
func (m *Metrics) H2ConnOpened() {
	if m != nil {
		m.h2Conns.opened()
	}
}

// H2ConnClosed counts the end of a connection that H2ConnOpened counted.
func (m *Metrics) H2ConnClosed() {
	if m != nil {
		m.h2Conns.closed()
	}
}

// TunnelOpened counts an upgraded connection that starts to be tunnelled.
func (m *Metrics) TunnelOpened() {
	if m != nil {
		m.tunnels.opened()
	}
}

// TunnelClosed counts the end of a tunnel that TunnelOpened counted.
func (m *Metrics) TunnelClosed() {
	if m != nil {
		m.tunnels.closed()
	}
}

// StreamOpened counts an HTTP/2 stream that starts to be served.
func (m *Metrics) StreamOpened() {
	if m != nil {
		m.streams.opened()
	}
}

// StreamClosed counts the end of a stream that StreamOpened counted.
func (m *Metrics) StreamClosed() {
	if m != nil {
		m.streams.closed()
	}
}

// openTotal is a pair of series NAME_open and NAME_total: what is open now, and how many opened.
type openTotal struct {
	open  prometheus.Gauge
	total prometheus.Counter
}

// newOpenTotal returns the series name+"_open", with openHelp, and name+"_total", with totalHelp.
func newOpenTotal(name, openHelp, totalHelp string) openTotal {
	return openTotal{
		open:  prometheus.NewGauge(prometheus.GaugeOpts{Name: name + "_open", Help: openHelp}),
		total: prometheus.NewCounter(prometheus.CounterOpts{Name: name + "_total", Help: totalHelp}),
	}
}

// opened counts one more open, in both series.
func (o openTotal) opened() {
	o.open.Inc()
	o.total.Inc()
}

// closed counts the end of one that opened counted.
func (o openTotal) closed() { o.open.Dec() }

// RoutesLoaded counts a load of the route table and, when it succeeded, records its time.
func (m *Metrics) RoutesLoaded(ok bool) {
	if m == nil {
		return
	}
	if !ok {
		m.reloadFailures.Inc()
		return
	}
	m.reloadSuccesses.Inc()
	m.lastReloadSuccess.SetToCurrentTime()
}

// SetPools sets where proxyd_backend_idle_connections comes from: every scrape ranges over pools,
// which yields each backend's address with its number of idle connections, and exposes the sum per
// address (a backend may have a pool per protocol). pools runs on the scraping goroutine, so it
// must be safe to call concurrently with the proxy's use of its pools. Call SetPools again when the
// set of pools changes, as on a route reload; nil removes the series.
func (m *Metrics) SetPools(pools iter.Seq2[string, int]) {
	if m == nil {
		return
	}
	m.pools.set(pools)
}

// poolCollector collects proxyd_backend_idle_connections from the pools set last, at scrape time.
type poolCollector struct {
	desc  *prometheus.Desc
	pools atomic.Pointer[iter.Seq2[string, int]]
}

func newPoolCollector() *poolCollector {
	return &poolCollector{desc: prometheus.NewDesc(
		"proxyd_backend_idle_connections",
		"Idle connections kept for reuse, by backend address.",
		[]string{"backend"}, nil,
	)}
}

// set replaces the pools read by the next scrapes.
func (c *poolCollector) set(pools iter.Seq2[string, int]) {
	if pools == nil {
		c.pools.Store(nil)
		return
	}
	c.pools.Store(&pools)
}

// Describe sends the one descriptor of the collector.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect sends one gauge per backend address with the idle connections of its pools.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	pools := c.pools.Load()
	if pools == nil {
		return
	}
	idle := make(map[string]int)
	for backend, n := range *pools {
		idle[backend] += n
	}
	for backend, n := range idle {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), backend)
	}
}
