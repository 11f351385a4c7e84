package metrics

import (
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRouteObserve measures accounting one request on a route whose series are resolved: a
// counter increment, a histogram observation and two byte counters.
func BenchmarkRouteObserve(b *testing.B) {
	r := New().Route("/api")
	method := []byte("GET")
	r.Observe(method, 200, time.Millisecond, 0, 0)
	b.ReportAllocs()
	for b.Loop() {
		r.Observe(method, 200, 3*time.Millisecond, 512, 4096)
	}
}

// BenchmarkRouteObserveParallel is BenchmarkRouteObserve from every core at once on one route,
// the worst case for contention on its counters.
func BenchmarkRouteObserveParallel(b *testing.B) {
	r := New().Route("/api")
	method := []byte("GET")
	r.Observe(method, 200, time.Millisecond, 0, 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Observe(method, 200, 3*time.Millisecond, 512, 4096)
		}
	})
}

// BenchmarkAtomicAdd is the baseline of BenchmarkRouteObserve: one atomic addition.
func BenchmarkAtomicAdd(b *testing.B) {
	var n atomic.Uint64
	for b.Loop() {
		n.Add(1)
	}
}

// BenchmarkAtomicAddParallel is the baseline of BenchmarkRouteObserveParallel: one atomic addition
// to one counter from every core.
func BenchmarkAtomicAddParallel(b *testing.B) {
	var n atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.Add(1)
		}
	})
}
