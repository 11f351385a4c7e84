package integration

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"proxyd.dev/integration/backend/api"
)

// TestBackendFaults stops, restarts and stalls backends and checks what proxyd's clients see.
func TestBackendFaults(t *testing.T) {
	t.Parallel()
	t.Run("stopped before the request", func(t *testing.T) {
		t.Parallel()
		b := startBackend(t, api.ModeHTTP1, "stopped")
		proxy := startProxy(t, b.addr)
		b.stop(t)
		resp, body := get(t, newClient(t), "http://"+proxy+"/gone")
		checkProxyError(t, resp, body, http.StatusBadGateway)
	})
	t.Run("stopped mid-stream", func(t *testing.T) {
		t.Parallel()
		b := startBackend(t, api.ModeHTTP1, "mid-stream")
		proxy := startProxy(t, b.addr)
		checkCutOffStream(t, newClient(t), "http://"+proxy, b.stop)
	})
	t.Run("restarted", func(t *testing.T) {
		t.Parallel()
		b := startBackend(t, api.ModeHTTP1, "restarted")
		proxy := startProxy(t, b.addr)
		c := newClient(t)
		url := "http://" + proxy + "/again"
		if got := getEcho(t, c, url); got.Backend != "restarted" {
			t.Fatalf("before the restart, backend %q answered", got.Backend)
		}
		b.stop(t)
		resp, body := get(t, c, url)
		checkProxyError(t, resp, body, http.StatusBadGateway)
		b.restart(t)
		if got := getEcho(t, c, url); got.Backend != "restarted" {
			t.Errorf("after the restart, backend %q answered", got.Backend)
		}
	})
	t.Run("never answers", func(t *testing.T) {
		t.Parallel()
		const timeout = time.Second
		b := startBackend(t, api.ModeHTTP1, "silent")
		proxy := startProxy(t, b.addr, "--response-header-timeout="+timeout.String())
		start := time.Now()
		resp, body := get(t, newClient(t), "http://"+proxy+api.PathHang)
		checkProxyError(t, resp, body, http.StatusGatewayTimeout)
		if took := time.Since(start); took < timeout {
			t.Errorf("504 after %v, before the response-header timeout of %v", took, timeout)
		}
	})
}

// checkCutOffStream reads the start of a held-open chunked stream through base, calls stop (which
// stops the backend, or proxyd), and checks that the client's read then ends with an error (the
// response is incomplete) rather than hanging until the request deadline.
func checkCutOffStream(t *testing.T, c *http.Client, base string, stop func(*testing.T)) {
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()
	url := base + api.PathStream + "?" + api.QueryChunks + "=1&" + api.QueryHold + "=1"
	resp := send(t, ctx, c, url)
	defer resp.Body.Close()
	first := streamLines("chunk", 1)
	buf := make([]byte, len(first))
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != first {
		t.Fatalf("GET %s: first chunk %q, %v; want %q", url, buf, err, first)
	}
	stop(t)
	rest, err := io.ReadAll(resp.Body)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		t.Errorf("the client's read still hung %v after the backend stopped", requestTimeout)
	case err == nil:
		t.Errorf("the cut-off stream ended like a complete response (rest %q); want a read error", rest)
	case strings.TrimSpace(string(rest)) != "":
		t.Errorf("after the backend stopped, the client read %q", rest)
	}
}
