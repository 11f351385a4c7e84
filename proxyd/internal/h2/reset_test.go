package h2

import (
	"context"
	"net/http"
	"testing"

	"proxyd.dev/proxyd/internal/routetest"
)

// TestClientResetReachesBackend cancels a request whose response head has not come: the client's
// RST_STREAM cancels the stream's upstream request, so the backend's request context ends, over
// either upstream protocol; twice, since a stream to an h2c backend whose connection is open starts
// on the connection's reader (Server.startInline).
func TestClientResetReachesBackend(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind.name, func(t *testing.T) {
			started, cancelled := make(chan struct{}, 2), make(chan struct{}, 2) // a signal per round
			mux := http.NewServeMux()
			mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
				started <- struct{}{}
				<-r.Context().Done()
				cancelled <- struct{}{}
			})
			be := kind.start(t, mux)
			p := startProxy(t, testConfig(t, routetest.Table(t, addr(be))))
			c := newClient(t)
			for range 2 {
				ctx, cancel := context.WithCancel(t.Context())
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+"/hang", nil)
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() {
					_, err := c.Do(req)
					done <- err
				}()
				within(t, started, "the request reaching the backend")
				cancel()
				within(t, cancelled, "the backend's request context ending")
				if err := <-done; err == nil {
					t.Error("the cancelled request succeeded")
				}
			}
		})
	}
}
