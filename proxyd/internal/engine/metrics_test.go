package engine

import (
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/proxyd/internal/routetest"
)

// scrape returns the proxyd_ series of m in the Prometheus text format, one "name{labels} value"
// per line.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return string(body)
}

// TestMetrics counts requests by route, method and status class with their body bytes, backend
// dials and failures, open client connections and pooled connections, as the admin endpoint
// exposes them.
func TestMetrics(t *testing.T) {
	api, def := startEcho(t, "api"), startEcho(t, "default")
	down := loopback.ClosedAddr(t)
	cfg := testConfig(t, routetest.Table(t, def.addr(), "/api="+api.addr(), "/down*="+down))
	m := metrics.New()
	cfg.Metrics = m
	p := startProxy(t, cfg)

	c := dial(t, p.addr)
	post := "POST /api/x HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nhello"
	c.send(post)
	c.response(false)
	get := "GET /other HTTP/1.1\r\nHost: example.test\r\n\r\n"
	c.send(get)
	c.response(false)
	c.send("GET /downstairs HTTP/1.1\r\nHost: example.test\r\n\r\n")
	c.response(false) // 502: nothing listens there
	c.send("GET /a/../b HTTP/1.1\r\nHost: example.test\r\n\r\n")
	c.response(false) // 400, and the connection closes
	c.expectEOF()
	c.conn.Close()
	waitFor(t, "the connection is counted closed", func() bool {
		return strings.Contains(scrape(t, m), "proxyd_client_connections_open 0\n")
	})

	got := scrape(t, m)
	for _, want := range []string{
		`proxyd_requests_total{code="2xx",method="POST",route="/api"} 1`,
		`proxyd_requests_total{code="2xx",method="GET",route="default"} 1`,
		`proxyd_requests_total{code="5xx",method="GET",route="/down*"} 1`,
		`proxyd_requests_total{code="4xx",method="GET",route="default"} 1`,
		`proxyd_request_body_bytes_total{route="/api"} 5`,
		`proxyd_response_body_bytes_total{route="/api"} ` + strconv.Itoa(len(post)), // the echo's body
		`proxyd_request_duration_seconds_count{route="/api"} 1`,
		`proxyd_backend_dials_total{backend="` + api.addr() + `"} 1`,
		`proxyd_backend_dials_total{backend="` + down + `"} 1`,
		`proxyd_backend_failures_total{backend="` + down + `",cause="dial_failed",code="502"} 1`,
		`proxyd_backend_failures_total{backend="` + api.addr() + `",cause="closed",code="502"} 0`,
		`proxyd_client_connections_total 1`,
		`proxyd_backend_idle_connections{backend="` + def.addr() + `"} 1`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("no line %q in the scrape:\n%s", want, grepProxyd(got))
		}
	}
}

// grepProxyd keeps the proxyd_ lines of a scrape, for error messages.
func grepProxyd(scrape string) string {
	var b strings.Builder
	for line := range strings.Lines(scrape) {
		if strings.HasPrefix(line, "proxyd_") {
			b.WriteString(line)
		}
	}
	return b.String()
}
