// Package h2 serves HTTP/2 cleartext with prior knowledge (RFC 9113 §3.3) on connections the engine
// hands over once they opened with the client preface. Framing, HPACK, flow control and the limits
// against floods are golang.org/x/net/http2's; this package routes and rewrites every stream on its
// own with the engine's route table and forwards it to its backend over h2c or HTTP/1.1, whichever
// the backend speaks (see backend.go).
package h2

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/backendset"
	"proxyd.dev/proxyd/internal/bufpool"
	"proxyd.dev/proxyd/internal/forwarded"
	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/proxyd/internal/proxyproto"
	"proxyd.dev/router"
)

// MaxConcurrentStreams is the SETTINGS_MAX_CONCURRENT_STREAMS proxyd advertises: the streams one
// client connection may have open at a time.
const MaxConcurrentStreams = 250

// maxFrameSize is the SETTINGS_MAX_FRAME_SIZE proxyd advertises: the initial value of RFC 9113 §4.2
// (2^14 octets), the frame size most clients send anyway. A larger frame is a connection error
// FRAME_SIZE_ERROR, as a client that has not yet seen proxyd's SETTINGS must assume; with
// x/net/http2's default (1 MiB) it would be taken.
const maxFrameSize = 16 << 10

// headerTableSize is the size of the HPACK dynamic table of the decoders of client header blocks
// (SETTINGS_HEADER_TABLE_SIZE): x/net/http2's and inspectedConn's, which must keep the same table.
const headerTableSize = 4096

// headerListPadding is what x/net/http2 adds to http.Server.MaxHeaderBytes before it advertises
// SETTINGS_MAX_HEADER_LIST_SIZE: 32 bytes of per-field overhead (RFC 9113 §6.5.2) for 10 fields.
// Subtracting it makes the advertised size equal Config.MaxHeaderSize.
const headerListPadding = 10 * 32

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
	// MaxHeaderSize is the SETTINGS_MAX_HEADER_LIST_SIZE advertised; larger header lists are
	// answered 431.
	MaxHeaderSize int
	// BackendIdleConns bounds the idle HTTP/1.1 connections kept per backend.
	BackendIdleConns int
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
	// h2 and base are x/net/http2's server and the http.Server it takes its settings from; base is
	// never served itself, its Shutdown only sends GOAWAY on every connection (the hook
	// http2.ConfigureServer registers).
	h2   *http2.Server
	base *http.Server
	// backends holds a backend per address, kept across route reloads.
	backends *backendset.Set[*backend]
	// routes is what streams are routed with; SetRoutes swaps it.
	routes atomic.Pointer[routeSet]
	// active tracks connections and streams for Shutdown.
	active tracker
	// bufs holds the buffers response bodies are relayed through, and those of the HTTP/1.1
	// upstream connections.
	bufs bufpool.Pool
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	s := &Server{
		cfg: cfg,
		log: cfg.Logger,
		h2: &http2.Server{
			MaxConcurrentStreams:      MaxConcurrentStreams,
			MaxReadFrameSize:          maxFrameSize,
			MaxDecoderHeaderTableSize: headerTableSize,
			IdleTimeout:               cfg.IdleTimeout,
			WriteByteTimeout:          cfg.IdleTimeout,
		},
		active: newTracker(),
	}
	s.base = &http.Server{
		Handler:        &streamProxy{s: s},
		MaxHeaderBytes: cfg.MaxHeaderSize - headerListPadding,
		IdleTimeout:    cfg.IdleTimeout,
		ErrorLog:       slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
	}
	// ConfigureServer fails only for a TLS configuration with unsuitable cipher suites; base has none.
	if err := http2.ConfigureServer(s.base, s.h2); err != nil {
		panic(err)
	}
	s.backends = backendset.New(func(addr string) *backend { return newBackend(addr, cfg, &s.bufs, nil) }, (*backend).closeIdle)
	s.SetRoutes(cfg.Routes)
	return s
}

// ServeConn serves conn, whose first bytes, already read from it, are in buffered (the client
// preface and whatever followed it), as HTTP/2 until the client closes it, its idle timeout passes
// or Shutdown ends it. It returns false at once, without closing conn, when the server is shutting
// down. What the client sends is inspected on its way to x/net/http2 (see inspectedConn).
func (s *Server) ServeConn(conn net.Conn, buffered []byte) bool {
	if !s.active.addConn(conn) {
		return false
	}
	defer s.active.doneConn(conn)
	s.cfg.Metrics.H2ConnOpened()
	defer s.cfg.Metrics.H2ConnClosed()
	opts := &http2.ServeConnOpts{BaseConfig: s.base}
	if s.cfg.ProxyProtocol != 0 {
		cb := newConnBackends(s, conn)
		defer cb.close()
		opts.Context = context.WithValue(context.Background(), connBackendsKey{}, cb)
	}
	in := newInspectedConn(&prefacedConn{Conn: conn, buffered: buffered}, uint32(s.cfg.MaxHeaderSize))
	s.h2.ServeConn(in, opts)
	return true
}

// Drain starts the graceful shutdown: every connection gets a GOAWAY and closes once its open
// streams have ended; connections handed over later are refused. It does not wait.
func (s *Server) Drain() {
	s.active.shutDown()
	// base serves no listener and tracks no connection, so its Shutdown returns at once, once it
	// has started the GOAWAY of every HTTP/2 connection.
	s.base.Shutdown(context.Background())
}

// Wait waits until every connection and stream has ended after Drain; when ctx ends first it
// closes the remaining connections, waits for their streams and returns ctx's error. Then it closes
// the idle backend connections. It may be called again.
func (s *Server) Wait(ctx context.Context) error {
	err := s.active.wait(ctx)
	s.backends.Close()
	return err
}
