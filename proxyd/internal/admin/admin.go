// Package admin serves proxyd's admin endpoints on a listener of their own, never the proxy's:
// Prometheus metrics at /metrics, liveness at /healthz and readiness at /readyz.
package admin

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"proxyd.dev/proxyd/internal/reply"
)

// Limits of the admin server. Its clients (Prometheus, the orchestrator's probes) are trusted,
// but none of them may hold a connection forever.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second // a scrape of a large registry included
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
)

// Server serves the admin endpoints:
//
//   - GET /metrics: the metrics handler;
//   - GET /healthz: 200 "ok\n" while the process serves;
//   - GET /readyz: 200 "ready\n" while ready reports true, 503 "shutting down\n" after.
//
// HEAD is answered like GET without the body, other methods 405 (with Allow), other paths 404.
type Server struct {
	srv *http.Server
}

// New returns a server of the metrics handler that reports readiness from ready, which is called on
// every /readyz request and must be safe for concurrent use. The server's own errors, such as a
// failed accept, go to logger.
func New(metrics http.Handler, ready func() bool, logger *slog.Logger) *Server {
	return &Server{srv: &http.Server{
		Handler: &endpoints{
			paths: map[string]http.Handler{
				"/metrics": metrics,
				"/healthz": text(http.StatusOK, "ok\n"),
				"/readyz":  readiness(ready),
			},
			notFound:         text(http.StatusNotFound, reply.Body(http.StatusNotFound)),
			methodNotAllowed: text(http.StatusMethodNotAllowed, reply.Body(http.StatusMethodNotAllowed)),
		},
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}}
}

// Serve accepts connections on ln and serves them until Close, and closes ln. It returns nil after
// Close, or the error that stopped it.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops Serve at once: it closes the listener and every connection, in-flight requests
// included (an admin request has nothing worth waiting for).
func (s *Server) Close() error {
	return s.srv.Close()
}

// endpoints dispatches a request to the handler of its path, for GET and HEAD only.
type endpoints struct {
	paths            map[string]http.Handler
	notFound         http.Handler // 404 "404 Not Found\n"
	methodNotAllowed http.Handler // 405 "405 Method Not Allowed\n", without the Allow field
}

// ServeHTTP answers 404 for a path without a handler and 405 for a method other than GET and HEAD.
func (e *endpoints) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, ok := e.paths[r.URL.Path]
	switch {
	case !ok:
		e.notFound.ServeHTTP(w, r)
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		e.methodNotAllowed.ServeHTTP(w, r)
	default:
		h.ServeHTTP(w, r)
	}
}

// readiness answers 200 "ready\n" while ready reports true and 503 "shutting down\n" after.
func readiness(ready func() bool) http.Handler {
	yes, no := text(http.StatusOK, "ready\n"), text(http.StatusServiceUnavailable, "shutting down\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ready() {
			yes.ServeHTTP(w, r)
		} else {
			no.ServeHTTP(w, r)
		}
	})
}

// text answers with status and a short text body, which is never cached (a probe must see the
// state of the moment).
func text(status int, body string) http.Handler {
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Length", length)
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			io.WriteString(w, body)
		}
	})
}
