package metrics_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"proxyd.dev/proxyd/internal/metrics"
)

// Series are resolved when the route table is built; a completed request is then a few atomic
// additions. With metrics off the *Metrics is nil and every call does nothing.
func Example() {
	m := metrics.New()
	api := m.Route("/api") // when the route table is built
	backend := m.Backend("127.0.0.1:4000")

	backend.Dialed() // as a request goes through
	api.Observe([]byte("GET"), 200, 3*time.Millisecond, 0, 512)

	var off *metrics.Metrics
	off.Route("/api").Observe([]byte("GET"), 200, time.Millisecond, 0, 0) // metrics off: no-op

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		for _, name := range []string{"proxyd_requests_total", "proxyd_response_body_bytes_total", "proxyd_backend_dials_total"} {
			if strings.HasPrefix(line, name+"{") {
				fmt.Print(line)
			}
		}
	}
	// Output:
	// proxyd_backend_dials_total{backend="127.0.0.1:4000"} 1
	// proxyd_requests_total{code="2xx",method="GET",route="/api"} 1
	// proxyd_response_body_bytes_total{route="/api"} 512
}
