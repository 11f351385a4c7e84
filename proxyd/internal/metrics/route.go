package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultRoute is the route label of requests that no route matched and went to the default backend.
// Routes are paths, which start with "/", so it cannot name one.
const DefaultRoute = "default"

// Route accounts the requests of one route. Its methods are safe for concurrent use and do nothing
// on a nil *Route.
type Route struct {
	label         string
	requests      *prometheus.CounterVec
	duration      prometheus.Observer
	requestBytes  prometheus.Counter
	responseBytes prometheus.Counter
	// counts caches the proxyd_requests_total series of each method and status class, resolved by
	// the first request that completes with them: most combinations never occur.
	counts [methodClasses][codeClasses]atomic.Pointer[prometheus.Counter]
}

// Route returns the accounting of the route written as route ("/api", "/api*", "/api/"), or
// DefaultRoute. Build one per route when the route table is built; routes with the same label
// share their series, so a route kept across a reload keeps counting where it was.
func (m *Metrics) Route(route string) *Route {
	if m == nil {
		return nil
	}
	return &Route{
		label:         route,
		requests:      m.requests,
		duration:      m.duration.WithLabelValues(route),
		requestBytes:  m.requestBytes.WithLabelValues(route),
		responseBytes: m.responseBytes.WithLabelValues(route),
	}
}

// Observe counts one completed request: its method, the status it was answered (or logged) with,
// the time it took and the body bytes read from the client (in) and written to it (out). Counts
// below zero are taken as zero.
func (r *Route) Observe(method []byte, status int, d time.Duration, in, out int64) {
	if r == nil {
		return
	}
	r.count(methodClassOf(method), codeClassOf(status)).Inc()
	r.duration.Observe(d.Seconds())
	if in > 0 {
		r.requestBytes.Add(float64(in))
	}
	if out > 0 {
		r.responseBytes.Add(float64(out))
	}
}

// count returns the request counter of a method and status class, resolving it on first use.
func (r *Route) count(mc methodClass, cc codeClass) prometheus.Counter {
	slot := &r.counts[mc][cc]
	if c := slot.Load(); c != nil {
		return *c
	}
	c := r.requests.WithLabelValues(r.label, mc.String(), cc.String())
	slot.Store(&c) // a concurrent first use stores the same series
	return c
}

// methodClass is the method label of a request: one of the methods of RFC 9110 §9 that proxyd
// forwards or refuses, or other (TRACE, WebDAV's, anything unknown), which keeps the number of
// series bounded whatever clients send.
type methodClass uint8

const (
	methodGet methodClass = iota
	methodHead
	methodPost
	methodPut
	methodPatch
	methodDelete
	methodOptions
	methodConnect
	methodOther
	methodClasses // number of method classes
)

// String returns the label value of the method class.
func (mc methodClass) String() string {
	return [methodClasses]string{
		methodGet: "GET", methodHead: "HEAD", methodPost: "POST", methodPut: "PUT",
		methodPatch: "PATCH", methodDelete: "DELETE", methodOptions: "OPTIONS",
		methodConnect: "CONNECT", methodOther: "other",
	}[mc]
}

// methodClassOf returns the class of a method. Methods are case-sensitive (RFC 9110 §9.1): "get"
// is other. The switch on the converted bytes allocates nothing.
func methodClassOf(method []byte) methodClass {
	switch string(method) {
	case "GET":
		return methodGet
	case "HEAD":
		return methodHead
	case "POST":
		return methodPost
	case "PUT":
		return methodPut
	case "PATCH":
		return methodPatch
	case "DELETE":
		return methodDelete
	case "OPTIONS":
		return methodOptions
	case "CONNECT":
		return methodConnect
	}
	return methodOther
}

// codeClass is the status class of an answer (RFC 9110 §15): 1xx to 5xx, or other for a status
// outside 100-599, which a backend may send (the status line allows three digits up to 999).
type codeClass uint8

// The status classes: the hundreds digit of a valid status, 0 for any other.
const (
	codeOther   codeClass = 0
	codeClasses           = 6 // number of status classes: other and 1xx to 5xx
)

// String returns the label value of the status class: "1xx" to "5xx", or "other".
func (cc codeClass) String() string {
	return [codeClasses]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}[cc]
}

// codeClassOf returns the class of a status; 499, logged for a client that left, is 4xx.
func codeClassOf(status int) codeClass {
	if status < 100 || status > 599 {
		return codeOther
	}
	return codeClass(status / 100)
}
