package h2

import (
	"net/http"
	"strings"
	"testing"

	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/proxyd/internal/routetest"
)

// TestMetrics counts every stream by its own route, with its status class, and the HTTP/2
// connection and streams it came on; a backend that refuses counts as its failure.
func TestMetrics(t *testing.T) {
	api := startH2C(t, echoHandler("api"))
	def := startH1(t, echoHandler("default"))
	down := loopback.ClosedAddr(t)
	cfg := testConfig(t, routetest.Table(t, addr(def), "/api="+addr(api), "/down="+down))
	m := metrics.New()
	cfg.Metrics = m
	p := startProxy(t, cfg)
	c := newClient(t)
	getEcho(t, c, p, "/api/x")
	getEcho(t, c, p, "/api/y")
	getEcho(t, c, p, "/other")
	resp, body := get(t, c, p, "/a/../b")
	checkAnswer(t, resp, body, http.StatusBadRequest)
	resp, body = get(t, c, p, "/down")
	checkAnswer(t, resp, body, http.StatusBadGateway)

	// A stream counts as closed once its handler has returned, which may be just after the client
	// has read the end of its response.
	const noneOpen = `proxyd_http2_streams_open 0` + "\n"
	eventually(t, "no stream open in the metrics", func() bool { return strings.Contains(scrape(t, m), noneOpen) })
	scraped := scrape(t, m)
	for _, want := range []string{
		`proxyd_requests_total{code="2xx",method="GET",route="/api"} 2` + "\n",
		`proxyd_requests_total{code="2xx",method="GET",route="default"} 1` + "\n",
		`proxyd_requests_total{code="4xx",method="GET",route="default"} 1` + "\n",
		`proxyd_requests_total{code="5xx",method="GET",route="/down"} 1` + "\n",
		failureLine(down, metrics.DialFailed, 1),
		`proxyd_http2_connections_total 1` + "\n",
		`proxyd_http2_connections_open 1` + "\n",
		`proxyd_http2_streams_total 5` + "\n",
	} {
		if !strings.Contains(scraped, want) {
			t.Errorf("no line %q in the scrape:\n%s", want, scraped)
		}
	}
}
