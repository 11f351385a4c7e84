// Package h2 serves HTTP/2 cleartext with prior knowledge (RFC 9113 §3.3) on connections the engine
// hands over once they opened with the client preface. Its connection engine (clientConn) reads
// and writes frames with golang.org/x/net/http2's Framer and HPACK coder and runs every stream's
// handler on a goroutine of its own, one the server keeps between streams (workers.Pool); the
// handler routes and rewrites the stream with the engine's route table and forwards it to its
// backend over h2c or HTTP/1.1, whichever the backend speaks (see backend.go).
package h2

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"proxyd.dev/proxyd/internal/backendset"
	"proxyd.dev/proxyd/internal/bufpool"
	"proxyd.dev/proxyd/internal/forwarded"
	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/proxyd/internal/netpoll"
	"proxyd.dev/proxyd/internal/proxyproto"
	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/proxyd/internal/workers"
	"proxyd.dev/router"
)

// MaxConcurrentStreams is the SETTINGS_MAX_CONCURRENT_STREAMS proxyd advertises: the streams one
// client connection may have open at a time.
const MaxConcurrentStreams = 250

// Config is what the HTTP/2 server needs; the engine fills it from its own Config. Every duration
// must be positive.
type Config struct {
	// Routes maps request paths to backends, until SetRoutes replaces it.
	Routes *router.Table
	// Rewrite strips the matched route prefix from the :path before forwarding.
	Rewrite bool
	// AllowConnect forwards CONNECT to the default backend (an h2c one); without it CONNECT is
	// answered 405.
	AllowConnect bool
	// IdleTimeout closes a connection without open streams after this long (with GOAWAY), and one
	// whose client takes no byte for this long.
	IdleTimeout time.Duration
	// DialTimeout bounds connecting to a backend and its protocol probe; 504 when it passes.
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the time from the end of the request body to the backend's
	// response head; 504 when it passes.
	ResponseHeaderTimeout time.Duration
	// TunnelIdleTimeout closes a WebSocket over HTTP/2 (RFC 8441) once no byte has moved either
	// way for this long.
	TunnelIdleTimeout time.Duration
	// MaxHeaderSize is the SETTINGS_MAX_HEADER_LIST_SIZE advertised; larger header lists are
	// answered 431.
	MaxHeaderSize int
	// ParkAfter is how long a connection without streams waits for its next frame on its reader's
	// goroutine: the first CheckStreams after it moves the wait into a set of idle connections,
	// where the connection costs no goroutine until its client sends something (Linux only; see
	// netpoll.Set). Zero never moves it.
	ParkAfter time.Duration
	// Pool returns the HTTP/1.1 connection pool of the backend at addr, which the streams share
	// with the pool's owner (the engine, for its HTTP/1.x clients): one pool per backend. Its owner
	// sweeps and closes it.
	Pool func(addr string) *upstream.Pool
	// NewPool returns a new HTTP/1.1 connection pool for the backend at addr, for a client
	// connection's own backends (with ProxyProtocol): the server closes it with the connection.
	NewPool func(addr string) *upstream.Pool
	// AccessLog logs one line per stream.
	AccessLog bool
	// Metrics counts streams, connections and backend events; nil counts nothing.
	Metrics *metrics.Metrics
	// Forwarded, when set, tells backends the client's address in X-Forwarded-For,
	// X-Forwarded-Proto and Forwarded, by its rules (see forwarded.Policy.EditHeader).
	Forwarded *forwarded.Policy
	// ProxyProtocol, when set, starts every backend connection with a PROXY protocol header of
	// this version carrying the client's address; such connections serve the streams of one
	// client connection only.
	ProxyProtocol proxyproto.Version
	// Logger receives the error and access logs.
	Logger *slog.Logger
}

// Server serves HTTP/2 connections handed over by the engine. Its methods are safe for concurrent
// use.
type Server struct {
	cfg Config
	log *slog.Logger
	// backends holds a backend per address, kept across route reloads.
	backends *backendset.Set[*backend]
	// routes is what streams are routed with; SetRoutes swaps it.
	routes atomic.Pointer[routeSet]
	// active tracks connections for Drain and Wait.
	active tracker
	// bufs holds the buffers client connections read frames into (each only while bytes wait in
	// it), response bodies are relayed through, and HTTP/1.1 request heads laid out in and request
	// bodies copied through.
	bufs bufpool.Pool
	// streams holds the state of ended streams for new streams to reuse (see
	// clientStream.release).
	streams sync.Pool
	// starting counts the stream handlers started and not yet running, on every connection.
	starting atomic.Int32
	// handlers runs the stream handlers of every connection.
	handlers *workers.Pool[streamStart]
	// idle holds the parked connections (see Config.ParkAfter); nil parks none.
	idle *netpoll.Set[*clientConn]
}

// maxIdleHandlers bounds the goroutines that wait for a stream to handle: a burst of more
// concurrent streams leaves no more than these behind.
const maxIdleHandlers = 256

// handlersStarting reports whether some stream handler was started and has not run yet: its
// upstream request is about to be written. It is the h2c transports' Busy.
func (s *Server) handlersStarting() bool { return s.starting.Load() > 0 }

// New returns a server for cfg.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, log: cfg.Logger, active: newTracker()}
	s.handlers = workers.New(func(h streamStart) { h.c.runHandler(h) }, maxIdleHandlers)
	s.backends = backendset.New(func(addr string) *backend { return newBackend(addr, s, cfg.Pool(addr), nil) }, (*backend).closeH2C)
	s.SetRoutes(cfg.Routes)
	if cfg.ParkAfter > 0 {
		var err error
		if s.idle, err = netpoll.NewSetIfSupported((*clientConn).resume); err != nil {
			s.log.Warn("idle HTTP/2 connections wait on goroutines", "err", err)
		}
	}
	return s
}

// ServeConn serves conn, whose first bytes, already read from it, are in buffered (the client
// preface and whatever followed it), as HTTP/2 until the client closes it, its idle timeout passes
// or a shutdown ends it; then it closes conn and calls done. raw is conn's RawConn, through which
// the responses relayed on a backend connection's reader are written without waiting, and which
// lets an idle connection wait without a goroutine; nil leaves those writes to a goroutine of
// their own, and the wait on the connection's. It returns once the connection has ended, or once
// its wait has moved off the calling goroutine (Config.ParkAfter). When the server is shutting
// down it serves nothing: it closes conn, calls done and returns false at once.
func (s *Server) ServeConn(conn net.Conn, raw syscall.RawConn, buffered []byte, done func()) bool {
	c := newClientConn(s, conn, raw, buffered)
	if !s.active.addConn(c) {
		conn.Close()
		if done != nil {
			done()
		}
		return false
	}
	c.done = done
	s.cfg.Metrics.H2ConnOpened()
	if s.cfg.ProxyProtocol != 0 {
		c.backends = newConnBackends(s, conn)
		c.ctx = context.WithValue(c.ctx, connBackendsKey{}, c.backends)
	}
	c.serve()
	return true
}

// Drain starts the graceful shutdown: every connection gets a GOAWAY and closes once its open
// streams have ended; connections handed over later are refused. It does not wait.
func (s *Server) Drain() { s.active.shutDown() }

// Wait waits until every connection has ended after Drain; when ctx ends first it closes the
// remaining connections, waits for their streams and returns ctx's error. Then it stops watching
// for parked connections (none is left), ends the idle stream handlers' goroutines and closes the
// idle backend connections. It may be called again.
func (s *Server) Wait(ctx context.Context) error {
	err := s.active.wait(ctx)
	if s.idle != nil {
		if err := s.idle.Close(); err != nil {
			s.log.Warn("watching idle HTTP/2 connections failed", "err", err)
		}
	}
	s.handlers.Close()
	s.backends.Close()
	return err
}
