// Package engine is proxyd's proxy: the accept loop, the per-connection HTTP/1.x state machine that
// joins router and wire, and graceful shutdown.
package engine

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"proxyd.dev/proxyd/internal/bufpool"
	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/router"
)

// Config is what the engine needs to run. Every duration must be positive.
type Config struct {
	// Routes maps request paths to backends.
	Routes *router.Table
	// Rewrite strips the matched route prefix from the request path.
	Rewrite bool
	// HeaderTimeout bounds the time from a request's first byte (or, for the first request, from the
	// accept) to its complete head; 408 when it passes.
	HeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a keep-alive connection, and each
	// megabyte of a Content-Length body in either direction.
	IdleTimeout time.Duration
	// DialTimeout bounds connecting to a backend; 504 when it passes.
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the time from the end of the request to the backend's response
	// head; 504 when it passes.
	ResponseHeaderTimeout time.Duration
	// TunnelIdleTimeout closes an upgraded connection after this long without a byte either way.
	TunnelIdleTimeout time.Duration
	// MaxHeaderSize is the largest request head accepted; 431 beyond it.
	MaxHeaderSize int
	// BackendIdleConns bounds the idle connections kept per backend.
	BackendIdleConns int
	// AccessLog logs one line per request.
	AccessLog bool
	// Logger receives the error and access logs.
	Logger *slog.Logger
}

// Accept back-off bounds after a temporary accept error such as EMFILE.
const (
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
)

// Server proxies the connections of one listener.
type Server struct {
	cfg   Config
	log   *slog.Logger
	pools []*upstream.Pool // indexed like cfg.Routes.Backends()
	bufs  bufpool.Pool
	// exchanges pools the per-exchange data of connections that are not idle.
	exchanges exchangePool

	shutting atomic.Bool
	mu       sync.Mutex
	ln       net.Listener
	conns    map[*clientConn]struct{}
	drained  chan struct{} // closed when shutting and the last connection ended
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, log: cfg.Logger, conns: make(map[*clientConn]struct{})}
	for _, addr := range cfg.Routes.Backends() {
		s.pools = append(s.pools, upstream.NewPool(addr, cfg.DialTimeout, cfg.BackendIdleConns, &s.bufs))
	}
	return s
}

// Serve accepts connections on ln and serves each in its own goroutine until Shutdown is called
// (then it returns nil) or accepting fails for good.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	backoff := time.Duration(0)
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shutting.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && !errors.Is(err, net.ErrClosed) {
				// EMFILE, ENFILE, ECONNABORTED and the like: wait and try again rather than spin.
				backoff = min(max(2*backoff, minAcceptBackoff), maxAcceptBackoff)
				s.log.Warn("accept failed, backing off", "err", err, "backoff", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := newClientConn(s, nc.(*net.TCPConn))
		if !s.track(c) {
			nc.Close()
			continue
		}
		go c.serve()
	}
}

// track registers c; false when the server is shutting down.
func (s *Server) track(c *clientConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

// untrack forgets c once its goroutine ends.
func (s *Server) untrack(c *clientConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if len(s.conns) == 0 && s.drained != nil {
		close(s.drained)
		s.drained = nil
	}
}

// Shutdown stops accepting, closes idle connections and lets in-flight exchanges finish: each
// connection closes at its next request boundary, its last response marked "Connection: close".
// When ctx ends first, the remaining connections (tunnels too) are closed and ctx's error returned.
// It returns once every connection goroutine has ended.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutting.Store(true)
	if s.ln != nil {
		s.ln.Close()
	}
	drained := make(chan struct{})
	if len(s.conns) == 0 {
		close(drained)
	} else {
		s.drained = drained
	}
	for c := range s.conns {
		c.closeIfIdle()
	}
	s.mu.Unlock()
	defer func() {
		for _, p := range s.pools {
			p.Close()
		}
	}()

	select {
	case <-drained:
		return nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.conns {
		c.abort()
	}
	s.mu.Unlock()
	<-drained
	return ctx.Err()
}
