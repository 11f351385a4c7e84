package h2

import (
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"proxyd.dev/proxyd/internal/loopback"
	"proxyd.dev/proxyd/internal/reply"
	"proxyd.dev/proxyd/internal/routetest"
)

// TestConnectRefused answers CONNECT 405 with an Allow field unless --allow-connect, without
// reaching the backend.
func TestConnectRefused(t *testing.T) {
	be := startH1(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the backend received %s %s", r.Method, r.RequestURI)
	}))
	p := startProxy(t, testConfig(t, routetest.Table(t, addr(be))))
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Scheme: "http", Host: p.addr}, Host: "example.test:443", Header: http.Header{}}
	resp, body := do(t, newClient(t), req)
	checkAnswer(t, resp, body, http.StatusMethodNotAllowed)
	if got := resp.Header.Get("Allow"); got != reply.AllowedMethods {
		t.Errorf("Allow: %q, want %q", got, reply.AllowedMethods)
	}
}

// TestBackendUnreachable answers 502 on the stream when the backend refuses the connection, and
// the client connection carries the next stream.
func TestBackendUnreachable(t *testing.T) {
	be := startH1(t, echoHandler("up"))
	p := startProxy(t, testConfig(t, routetest.Table(t, addr(be), "/down="+loopback.ClosedAddr(t))))
	c := newClient(t)
	resp, body := get(t, c, p, "/down/x")
	checkAnswer(t, resp, body, http.StatusBadGateway)
	getEcho(t, c, p, "/up")
	if n := p.connections(); n != 1 {
		t.Errorf("the client used %d connections, want 1", n)
	}
}

// TestResponseHeaderTimeout answers 504 when the backend sends no response head within the
// response-header timeout, over either upstream protocol; also after an answered request, since
// a stream to an h2c backend known to speak it, with its connection open, starts on the
// connection's reader (Server.startInline). A 504 makes proxyd find out the protocol again. A
// head that comes in time ends the timeout, also when the body of known length it announces
// begins only after it (the call started on the reader waits for that body, see
// h2upstream.Start).
func TestResponseHeaderTimeout(t *testing.T) {
	const limit = 200 * time.Millisecond
	// Only /hang hangs: the protocol probe's "PRI *" is answered.
	hang := http.NewServeMux()
	hang.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	hang.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	hang.HandleFunc("/late-body", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "2")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select { // the scenario: a body that begins well after the timeout
		case <-time.After(3 * limit):
			io.WriteString(w, "ok")
		case <-r.Context().Done():
		}
	})
	for _, kind := range backendKinds {
		t.Run(kind.name, func(t *testing.T) {
			cfg := testConfig(t, routetest.Table(t, addr(kind.start(t, hang))))
			cfg.ResponseHeaderTimeout = limit
			p := startProxy(t, cfg)
			c := newClient(t)
			for _, path := range []string{"/hang", "/ok", "/late-body", "/hang"} {
				resp, body := get(t, c, p, path)
				if path != "/hang" {
					if resp.StatusCode != http.StatusOK || body != "ok" {
						t.Fatalf("GET %s: %d %q, want 200 \"ok\"", path, resp.StatusCode, body)
					}
					continue
				}
				checkAnswer(t, resp, body, http.StatusGatewayTimeout)
			}
		})
	}
}

// TestHeadAnswerHasNoBody answers a HEAD request with the status and Content-Length but no body.
func TestHeadAnswerHasNoBody(t *testing.T) {
	p := startProxy(t, testConfig(t, routetest.Table(t, loopback.ClosedAddr(t))))
	req, err := http.NewRequest(http.MethodHead, "http://"+p.addr+"/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, newClient(t), req)
	if resp.StatusCode != http.StatusBadGateway || body != "" {
		t.Errorf("HEAD: status %d, body %q; want 502 without a body", resp.StatusCode, body)
	}
}
