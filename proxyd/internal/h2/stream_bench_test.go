package h2

import (
	"io"
	"log/slog"
	"net/http"
	"testing"

	"proxyd.dev/proxyd/internal/routetest"
)

// BenchmarkStreams sends small GETs over one HTTP/2 connection, many streams at a time, through the
// proxy to each kind of backend (an HTTP/1.1-only one and an h2c one), and to the h2c one directly;
// client and backend run in the process too, so compare the proxied and the direct runs rather
// than read either alone.
func BenchmarkStreams(b *testing.B) {
	for _, kind := range backendKinds {
		b.Run(kind.name, func(b *testing.B) {
			be := kind.start(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "hello")
			}))
			cfg := testConfig(b, routetest.Table(b, addr(be)))
			cfg.AccessLog = false
			withPools(b, &cfg, 128)
			cfg.Logger = slog.New(slog.DiscardHandler)
			p := startProxy(b, cfg)
			if kind.name == "h2c" {
				// An HTTP/1.1 backend reached directly would measure net/http's HTTP/1.1 client.
				b.Run("direct", func(b *testing.B) { benchmarkGets(b, be.URL+"/x") })
			}
			b.Run("proxy", func(b *testing.B) { benchmarkGets(b, "http://"+p.addr+"/x") })
		})
	}
}

// benchmarkGets sends b.N GETs for url, 16 at a time per processor, over one HTTP/2 connection.
func benchmarkGets(b *testing.B, url string) {
	c := newClient(b)
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
