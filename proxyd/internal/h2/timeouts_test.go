package h2

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"proxyd.dev/proxyd/internal/routetest"
)

// shortIdle is the idle timeout of the tests of the per-stream progress timeouts.
const shortIdle = 300 * time.Millisecond

// TestStreamBodyStalls answers 408 on the stream, and lets the backend's request end, when a
// request body stops arriving for the idle timeout, over either upstream protocol.
func TestStreamBodyStalls(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind.name, func(t *testing.T) {
			ended := make(chan struct{})
			be := kind.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost { // an HTTP/1.1 server hands the protocol probe's "PRI *" over too
					return
				}
				io.Copy(io.Discard, r.Body)
				close(ended)
			}))
			cfg := testConfig(t, routetest.Table(t, addr(be)))
			cfg.IdleTimeout = shortIdle
			p := startProxy(t, cfg)
			body, stall := io.Pipe()
			defer stall.Close()
			req, err := http.NewRequest(http.MethodPost, "http://"+p.addr+"/up", body)
			if err != nil {
				t.Fatal(err)
			}
			go io.WriteString(stall, "the start of a body that never ends")
			start := time.Now()
			resp, answer := do(t, newClient(t), req)
			checkAnswer(t, resp, answer, http.StatusRequestTimeout)
			if took := time.Since(start); took < shortIdle || took > 2*shortIdle+time.Second {
				t.Errorf("408 after %v, want between %v and %v", took, shortIdle, 2*shortIdle+time.Second)
			}
			within(t, ended, "the backend's request ending")
		})
	}
}

// TestStreamClientStopsReading resets a stream whose client takes no byte of the response for the
// idle timeout, which cancels the backend's request, while the connection's other streams go on.
func TestStreamClientStopsReading(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind.name, func(t *testing.T) {
			cancelled := make(chan struct{})
			mux := http.NewServeMux()
			mux.HandleFunc("/flood", func(w http.ResponseWriter, r *http.Request) {
				defer close(cancelled)
				chunk := strings.Repeat("f", 16<<10)
				for r.Context().Err() == nil {
					if _, err := io.WriteString(w, chunk); err != nil {
						return
					}
					http.NewResponseController(w).Flush()
				}
			})
			mux.Handle("/", echoHandler("be"))
			be := kind.start(t, mux)
			cfg := testConfig(t, routetest.Table(t, addr(be)))
			cfg.IdleTimeout = shortIdle
			p := startProxy(t, cfg)
			c := newClient(t)
			resp, err := c.Do(newGet(t, p, "/flood"))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close() // never read: the stream's flow-control window fills
			within(t, cancelled, "the backend's request being cancelled")
			if got := getEcho(t, c, p, "/after"); got.Backend != "be" {
				t.Errorf("a later stream on the connection reached %q", got.Backend)
			}
		})
	}
}

// TestStreamBodyPausesWhileResponding keeps a stream whose request body pauses longer than the idle
// timeout once the response streams, as a gRPC bidirectional stream's client may.
func TestStreamBodyPausesWhileResponding(t *testing.T) {
	be := startH2C(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		w.WriteHeader(http.StatusOK)
		rc.Flush()
		buf := make([]byte, 64)
		for { // echoes what comes, whenever it comes
			n, err := r.Body.Read(buf)
			if n > 0 {
				w.Write(buf[:n])
				rc.Flush()
			}
			if err != nil {
				return
			}
		}
	}))
	cfg := testConfig(t, routetest.Table(t, addr(be)))
	cfg.IdleTimeout = shortIdle
	p := startProxy(t, cfg)
	resp, send := openPost(t, "http://"+p.addr+"/chat")
	time.Sleep(3 * shortIdle) // the pause under test
	go io.WriteString(send, "still here")
	got := make([]byte, len("still here"))
	if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != "still here" {
		t.Fatalf("after the pause the stream echoed %q, %v", got, err)
	}
	send.Close()
}
