package h2

import (
	"context"
	"net/http"
	"testing"

	"proxyd.dev/proxyd/internal/routetest"
)

// TestClientResetReachesBackend cancels a request whose response head has not come: the client's
// RST_STREAM cancels the stream's upstream request, so the backend's request context ends, over
// either upstream protocol.
func TestClientResetReachesBackend(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind.name, func(t *testing.T) {
			started, cancelled := make(chan struct{}), make(chan struct{})
			mux := http.NewServeMux()
			mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
				close(started)
				<-r.Context().Done()
				close(cancelled)
			})
			be := kind.start(t, mux)
			p := startProxy(t, testConfig(t, routetest.Table(t, addr(be))))
			ctx, cancel := context.WithCancel(t.Context())
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+"/hang", nil)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := newClient(t).Do(req)
				done <- err
			}()
			within(t, started, "the request reaching the backend")
			cancel()
			within(t, cancelled, "the backend's request context ending")
			if err := <-done; err == nil {
				t.Error("the cancelled request succeeded")
			}
		})
	}
}
