package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"proxyd.dev/proxyd/internal/h2/h2test"
)

// TestAdminEndpoints serves /healthz, /readyz and /metrics on --admin-addr: the metrics count a
// request through the proxy, and /readyz turns 503 as soon as a shutdown starts, while a request in
// flight keeps the process serving.
func TestAdminEndpoints(t *testing.T) {
	bin := buildProxyd(t)
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, "ok")
	}))
	defer slow.Close()
	defer close(release)
	p := startProcess(t, bin, "127.0.0.1:0", strings.TrimPrefix(slow.URL, "http://"), "--admin-addr", "127.0.0.1:0", "--shutdown-timeout=10s")
	i := slices.IndexFunc(p.read, func(l string) bool { return strings.Contains(l, "admin endpoints") })
	if i < 0 {
		t.Fatalf("no admin endpoints line in %q", p.read)
	}
	admin := "http://" + lineAddr(t, p.read[i])

	fetch := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := fetch("http://" + p.addr + "/x"); code != 200 || body != "ok" {
		t.Fatalf("GET /x through proxyd: %d %q", code, body)
	}
	for path, want := range map[string]string{"/healthz": "ok\n", "/readyz": "ready\n"} {
		if code, body := fetch(admin + path); code != 200 || body != want {
			t.Errorf("GET %s: %d %q, want 200 %q", path, code, body, want)
		}
	}
	// The request is counted once its response is written, which may be just after the client
	// has read it.
	counted := `proxyd_requests_total{code="2xx",method="GET",route="default"} 1` + "\n"
	h2test.Eventually(t, waitLimit, "/metrics counting the request", func() bool {
		_, body := fetch(admin + "/metrics")
		return strings.Contains(body, counted)
	})

	inFlight := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + p.addr + "/slow")
		if err == nil {
			resp.Body.Close()
		}
		inFlight <- err
	}()
	<-entered
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.waitLine(t, "shutting down")
	if code, body := fetch(admin + "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz during shutdown: %d %q, want 503", code, body)
	}
	if code, _ := fetch(admin + "/healthz"); code != 200 {
		t.Errorf("GET /healthz during shutdown: %d, want 200", code)
	}
	release <- struct{}{}
	select {
	case err := <-inFlight:
		if err != nil {
			t.Errorf("the request in flight failed: %v", err)
		}
	case <-time.After(waitLimit):
		t.Error("the request in flight was not answered")
	}
}
