// Package engine is proxyd's proxy: the accept loop, the per-connection HTTP/1.x state machine that
// joins router and wire, and graceful shutdown.
package engine

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"proxyd.dev/proxyd/internal/backendset"
	"proxyd.dev/proxyd/internal/bufpool"
	"proxyd.dev/proxyd/internal/forwarded"
	"proxyd.dev/proxyd/internal/h2"
	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/proxyd/internal/netpoll"
	"proxyd.dev/proxyd/internal/proxyproto"
	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/proxyd/internal/workers"
	"proxyd.dev/router"
	"proxyd.dev/wire"
)

// Config is what the engine needs to run. Every duration must be positive.
type Config struct {
	// Routes maps request paths to backends, until SetRoutes replaces it.
	Routes *router.Table
	// Rewrite strips the matched route prefix from the request path.
	Rewrite bool
	// HeaderTimeout bounds the time from a request's first byte (or, for the first request, from the
	// accept) to its complete head; 408 when it passes.
	HeaderTimeout time.Duration
	// IdleTimeout bounds the wait for the next request on a keep-alive connection, and every wait
	// for progress of a transfer: a request body that stops arriving (408), a backend that stops
	// taking the request (504), a client that stops taking the response. A backend silent in the
	// middle of a response body is not bound by it.
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
	// AllowConnect forwards CONNECT requests to the default backend and tunnels after a 2xx answer;
	// without it CONNECT is answered 405.
	AllowConnect bool
	// AccessLog logs one line per request.
	AccessLog bool
	// Metrics counts requests, connections and backend events; nil counts nothing.
	Metrics *metrics.Metrics
	// Forwarded, when set, tells backends the client's address in X-Forwarded-For,
	// X-Forwarded-Proto and Forwarded, by its rules (see forwarded.Policy.AppendHead).
	Forwarded *forwarded.Policy
	// ProxyProtocol, when set, starts every backend connection with a PROXY protocol header of
	// this version carrying the client's address; such connections serve one client connection
	// only and are never pooled.
	ProxyProtocol proxyproto.Version
	// RingLoops serves HTTP/1.x connections from their accept on io_uring loops (RingLoopsCount),
	// where the system has io_uring (see loops); elsewhere, and without it, each connection waits
	// and is served on goroutines.
	RingLoops bool
	// RingLoopsBusy is how many busy connections (clientConn.busy) make the ring loops serve:
	// connections wait for their requests on the loops from then on, and on goroutines again once
	// fewer than half as many are busy, where a lone client's exchange is faster. 0 means 16 for
	// each loop; a negative value, always.
	RingLoopsBusy int
	// RingLoopsCount is how many ring loops serve, at most GOMAXPROCS; 0 means one for every two
	// processors, and one on a single processor (see ringLoopCount).
	RingLoopsCount int
	// RingLoopsShare is how long a pass of a ring loop runs, while it finds work, before the loop
	// waits in the runtime's poller once, so that other goroutines run: HTTP/2 streams, accepts,
	// timers, the exchanges the loops hand back. 0 means 1 ms when the loops take every processor
	// (see loopShare), and no limit otherwise.
	RingLoopsShare time.Duration
	// Logger receives the error and access logs.
	Logger *slog.Logger
}

// Accept back-off bounds after a temporary accept error such as EMFILE.
const (
	minAcceptBackoff = 5 * time.Millisecond
	maxAcceptBackoff = time.Second
)

// pipeGrowth bounds how far the splices of all connections together grow their pipes beyond the
// kernel's 64 KiB (wire.PipeBudget): sixteen bodies at a time move through pipes of 1 MiB, the
// others through pipes of 64 KiB. An unprivileged user's pipes share a limit
// (/proc/sys/fs/pipe-user-pages-soft, 64 MiB by default) past which the kernel gives new pipes
// 8 KiB; with this bound, 768 bodies of 64 KiB or more can be spliced at once besides the sixteen.
const pipeGrowth = 16 * (1<<20 - 64<<10)

// Server proxies the connections of one listener.
type Server struct {
	cfg    Config
	limits timeouts
	log    *slog.Logger
	// backends holds a connection pool per backend address, kept across route reloads.
	backends *backendset.Set[*upstream.Pool]
	// routes is what requests are routed with; SetRoutes swaps it.
	routes atomic.Pointer[routeSet]
	bufs   bufpool.Pool
	// pipes bounds how far the splices of all connections grow their pipes (pipeGrowth).
	pipes *wire.PipeBudget
	// exchanges pools the per-exchange data of connections that are not idle.
	exchanges pool[exchange]
	sweeper   sweeper
	// idle holds the keep-alive connections whose wait for the next request was handed off, watched
	// by its own goroutine until Shutdown; nil where the system has no epoll(7): each of them then
	// waits on a goroutine of its own.
	idle *idleSet
	// loops are the ring loops that serve HTTP/1.x connections; nil without Config.RingLoops, or
	// where the system has no io_uring.
	loops *loops
	// goroutineWaits counts the waits for a next request that run on their connection's goroutine.
	goroutineWaits goroutineWaits
	// busy counts the connections that are busy (clientConn.busy): the load the ring loops serve from.
	busy atomic.Int32
	// h2 serves the connections that open with the HTTP/2 preface; it owns them, and their
	// timeouts, once they are handed over.
	h2 *h2.Server
	// workers runs each connection, from accept and from a resumed wait, on goroutines kept
	// between connections.
	workers *workers.Pool[connWork]

	shutting atomic.Bool
	mu       sync.Mutex
	ln       net.Listener             // guarded by mu
	conns    map[*clientConn]struct{} // guarded by mu
	quit     chan struct{}            // closed as shutting is first set: the accept back-off waits on it
	drained  chan struct{}            // closed once shutting and the last connection ended
	drainOne sync.Once
}

// New returns a server for cfg. Its sweeper, the one clock of every timeout, and the goroutine
// that watches its long-idle connections run until Shutdown.
func New(cfg Config) *Server {
	s := &Server{
		cfg: cfg,
		limits: timeouts{
			header:         cfg.HeaderTimeout,
			idle:           cfg.IdleTimeout,
			responseHeader: cfg.ResponseHeaderTimeout,
			tunnelIdle:     cfg.TunnelIdleTimeout,
		},
		log:     cfg.Logger,
		pipes:   wire.NewPipeBudget(pipeGrowth),
		workers: workers.New(connWork.do, maxIdleWorkers),
		conns:   make(map[*clientConn]struct{}),
		quit:    make(chan struct{}),
		drained: make(chan struct{}),
	}
	s.backends = backendset.New(s.newPool, (*upstream.Pool).Close)
	s.setRoutes(cfg.Routes)
	cfg.Metrics.SetPools(func(yield func(string, int) bool) {
		for addr, p := range s.backends.All() {
			if !yield(addr, p.Idle()) {
				return
			}
		}
	})
	s.h2 = h2.New(h2.Config{
		Routes:                cfg.Routes,
		Rewrite:               cfg.Rewrite,
		AllowConnect:          cfg.AllowConnect,
		IdleTimeout:           cfg.IdleTimeout,
		DialTimeout:           cfg.DialTimeout,
		ResponseHeaderTimeout: cfg.ResponseHeaderTimeout,
		TunnelIdleTimeout:     cfg.TunnelIdleTimeout,
		MaxHeaderSize:         cfg.MaxHeaderSize,
		ParkAfter:             handoffAfter,
		Pool:                  s.backends.Get,
		NewPool:               s.newPool,
		AccessLog:             cfg.AccessLog,
		Metrics:               cfg.Metrics,
		Forwarded:             cfg.Forwarded,
		ProxyProtocol:         cfg.ProxyProtocol,
		Logger:                cfg.Logger,
	})
	var err error
	if s.idle, err = netpoll.NewSetIfSupported((*clientConn).wake); err != nil {
		s.log.Warn("long-idle connections wait on goroutines", "err", err)
	}
	if cfg.RingLoops {
		n := ringLoopCount(cfg.RingLoopsCount, runtime.GOMAXPROCS(0))
		if s.loops, err = startLoops(s, n); err != nil {
			s.log.Info("no ring loops: connections are served on goroutines", "err", err)
		} else {
			s.log.Info("ring loops", "loops", n)
		}
	}
	s.sweeper = sweeper{s: s, tick: sweepTick(s.limits), stop: make(chan struct{}), done: make(chan struct{})}
	go s.sweeper.run()
	return s
}

// ringLoopCount is how many ring loops serve with procs processors: n when set, else one for
// every two processors, at least one, and never more than procs. Loops on every processor share
// them with the other goroutines (Config.RingLoopsShare). On two cores, in (a) of
// scripts/bench.sh, one loop gave 1.10x the rate of two at 0.74x the CPU per request: it makes
// half as many io_uring_enter(2) calls a request, each for more connections, and wakes one thread,
// not two.
func ringLoopCount(n, procs int) int {
	if n == 0 {
		n = max(procs/2, 1)
	}
	return min(n, procs)
}

// newPool returns a pool for the backend at addr: up to BackendIdleConns idle connections, read
// through the server's buffers and pipes, each dial counted in the metrics.
func (s *Server) newPool(addr string) *upstream.Pool {
	p := upstream.NewPool(addr, s.cfg.DialTimeout, s.cfg.BackendIdleConns, &s.bufs, s.pipes)
	p.OnDial(s.cfg.Metrics.Backend(addr).Dialed)
	return p
}

// connWork is what a worker does for a connection: serve it from its start, resume its parked
// wait, or go on where a ring loop gave it back. A value, not a method value, so that handing it
// over allocates nothing.
type connWork struct {
	c    *clientConn
	from workFrom
}

// workFrom is where a worker takes a connection up.
type workFrom uint8

const (
	fromAccept workFrom = iota // serve it from its start
	fromPark                   // resume its parked wait
	fromLoop                   // go on where its ring loop gave it back
)

// do serves the connection from where w takes it up.
func (w connWork) do() {
	switch w.from {
	case fromPark:
		w.c.resumeWait()
	case fromLoop:
		w.c.run(headFromLoop)
	default:
		w.c.serve()
	}
}

// maxIdleWorkers bounds the goroutines that wait for a connection to serve: a burst of more
// concurrent connections leaves no more than these behind.
const maxIdleWorkers = 256

// Serve accepts connections on ln and serves each in its own goroutine, or on a ring loop with
// Config.RingLoops, until Shutdown is called (then it returns nil) or accepting fails for good.
// Called once Shutdown has begun, as when a signal comes before the goroutine that serves has
// started, it closes ln and returns nil at once.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutting.Load() {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
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
				// EMFILE, ENFILE, ECONNABORTED and the like: wait and try again rather than spin,
				// until Shutdown.
				backoff = min(max(2*backoff, minAcceptBackoff), maxAcceptBackoff)
				s.log.Warn("accept failed, backing off", "err", err, "backoff", backoff)
				wait := time.NewTimer(backoff)
				select {
				case <-wait.C:
				case <-s.quit:
					wait.Stop()
					return nil
				}
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
		s.cfg.Metrics.ClientConnOpened()
		if s.loops.engaged() {
			c.run(c.waitOnLoop()) // a ring loop waits for the first request
			continue
		}
		s.workers.Run(connWork{c: c})
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
	s.checkDrainedLocked()
}

// checkDrainedLocked closes drained once the server is shutting down and no connection is left.
// s.mu is held.
func (s *Server) checkDrainedLocked() {
	if s.shutting.Load() && len(s.conns) == 0 {
		s.drainOne.Do(func() { close(s.drained) })
	}
}

// snapshot appends the connections being served to dst.
func (s *Server) snapshot(dst []*clientConn) []*clientConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		dst = append(dst, c)
	}
	return dst
}

// Shutdown stops accepting, closes idle connections and lets in-flight exchanges finish: each
// connection closes at its next request boundary, its last response marked "Connection: close";
// each HTTP/2 connection gets a GOAWAY and closes once its open streams have ended.
// When ctx ends first, the remaining connections (tunnels too) are closed and ctx's error returned.
// It returns once every connection goroutine has ended; then the sweeper stops and the backend
// pools close. Later calls wait the same way and return nil.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.shutting.Swap(true) {
		close(s.quit)
	}
	if s.ln != nil {
		s.ln.Close()
	}
	for c := range s.conns {
		c.life.closeIfWaiting()
	}
	s.checkDrainedLocked()
	s.mu.Unlock()
	s.h2.Drain()
	defer s.stop()

	select {
	case <-s.drained:
		return s.h2.Wait(ctx)
	case <-ctx.Done():
	}
	s.mu.Lock()
	for c := range s.conns {
		c.abort()
	}
	s.mu.Unlock()
	<-s.drained
	s.h2.Wait(ctx)
	return ctx.Err()
}

// stop ends the sweeper, the idle set's goroutine and the idle workers, and closes the pools,
// once no connection is left (none is parked then).
func (s *Server) stop() {
	s.mu.Lock()
	select {
	case <-s.sweeper.stop:
	default:
		close(s.sweeper.stop)
	}
	s.mu.Unlock()
	<-s.sweeper.done
	if s.idle != nil {
		if err := s.idle.Close(); err != nil {
			s.log.Warn("watching long-idle connections failed", "err", err)
		}
	}
	if s.loops != nil {
		s.loops.stop()
	}
	s.workers.Close()
	s.backends.Close()
}
