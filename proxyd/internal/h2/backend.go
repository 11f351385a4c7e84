package h2

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"proxyd.dev/proxyd/internal/h2upstream"
	"proxyd.dev/proxyd/internal/upstream"
)

// protocol is what a backend speaks, as its preface probe found out.
type protocol int32

const (
	protoUnknown protocol = iota // not probed yet, or a request failed since the last probe
	protoHTTP1                   // HTTP/1.1 only: streams go over proxyd's own client (h1Transport)
	protoH2C                     // HTTP/2 with prior knowledge: streams go over proxyd's h2c client
)

// backend is one backend as the HTTP/2 server reaches it: the protocol it speaks, found out once by
// a preface probe and remembered until a request to it fails, and a transport for each protocol
// with its own connections. Its methods are safe for concurrent use.
type backend struct {
	addr   string
	dialer net.Dialer // the probe's and the h2c client's; h1's pool dials alike
	// proxyHeader, when set, is the PROXY protocol header written first on every connection: the
	// backend then serves one client connection only (see connBackends).
	proxyHeader []byte
	h1          *h1Transport
	h2c         *h2upstream.Transport
	// proto is the protocol found by the last probe; protoUnknown makes the next request probe.
	// A probe sets it under mu as it ends: known, it has no probe under way.
	proto atomic.Int32

	mu sync.Mutex
	// probing is set while a probe runs; probeWaiters are the calls of awaitProtocol that wait for
	// it, in the order they came. Guarded by mu.
	probing      bool
	probeWaiters []func(protocol, error)
}

// newBackend returns s's backend at addr, whose HTTP/1.1 connections come from pool and read
// through s's buffers, and whose connections all start with proxyHeader, if any.
func newBackend(addr string, s *Server, pool *upstream.Pool, proxyHeader []byte) *backend {
	cfg, bufs := s.cfg, &s.bufs
	b := &backend{addr: addr, dialer: net.Dialer{Timeout: cfg.DialTimeout}, proxyHeader: proxyHeader}
	b.h1 = &h1Transport{pool: pool, proxyHeader: proxyHeader, idle: cfg.IdleTimeout, tunnelIdle: cfg.TunnelIdleTimeout, bufs: bufs}
	b.h2c = &h2upstream.Transport{
		Dial:              b.connect,
		DialTimeout:       cfg.DialTimeout,
		MaxHeaderListSize: upstream.MaxResponseHeadSize,
		IdleTimeout:       upstream.MaxIdleTime,
		WriteTimeout:      cfg.IdleTimeout,
		Busy:              s.handlersStarting,
	}
	return b
}

// connect connects to the backend and writes the PROXY protocol header, if any.
func (b *backend) connect(ctx context.Context) (net.Conn, error) {
	conn, err := b.dialer.DialContext(ctx, "tcp", b.addr)
	if err != nil || b.proxyHeader == nil {
		return conn, err
	}
	if _, err := conn.Write(b.proxyHeader); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// transport returns the backend's protocol and the transport for it, probing the backend first when
// its protocol is not known. A probe that cannot connect returns the dial error; ctx ending first
// returns its cause (the probe goes on for the others that wait for it).
func (b *backend) transport(ctx context.Context) (protocol, http.RoundTripper, error) {
	if p := protocol(b.proto.Load()); p != protoUnknown {
		return b.transportFor(p)
	}
	type found struct {
		p   protocol
		err error
	}
	probed := make(chan found, 1) // the probe's answer is left there if ctx ends first
	p, waiting := b.awaitProtocol(func(p protocol, err error) { probed <- found{p, err} })
	if waiting {
		select {
		case f := <-probed:
			if f.err != nil {
				return protoUnknown, nil, f.err
			}
			p = f.p
		case <-ctx.Done():
			return protoUnknown, nil, context.Cause(ctx)
		}
	}
	return b.transportFor(p)
}

// transportFor returns p, known, and the backend's transport for it.
func (b *backend) transportFor(p protocol) (protocol, http.RoundTripper, error) {
	if p == protoH2C {
		return p, b.h2c, nil
	}
	return p, b.h1, nil
}

// awaitProtocol calls ready with the backend's protocol, or the probe's dial error, once the probe
// under way (which it starts unless one is) has ended, on the probe's goroutine: the streams that
// find the protocol unknown wait for it on no goroutine of their own. ready must not wait. When
// the protocol is known, it returns it instead, with waiting false, and calls nothing.
func (b *backend) awaitProtocol(ready func(protocol, error)) (p protocol, waiting bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p = protocol(b.proto.Load()); p != protoUnknown {
		return p, false
	}
	b.probeWaiters = append(b.probeWaiters, ready)
	if !b.probing {
		b.probing = true
		go b.runProbe()
	}
	return protoUnknown, true
}

// runProbe probes the backend, remembers what it speaks, and answers those that wait. The probe is
// bound by the dial timeout and its own (probeH2C), not by any stream's context.
func (b *backend) runProbe() {
	h2c, err := probeH2C(context.Background(), b.connect, b.dialer.Timeout)
	var p protocol
	switch {
	case err != nil:
		p = protoUnknown
	case h2c:
		p = protoH2C
	default:
		p = protoHTTP1
	}
	b.mu.Lock()
	b.proto.Store(int32(p))
	b.probing = false
	waiters := b.probeWaiters
	b.probeWaiters = nil
	b.mu.Unlock()
	for _, ready := range waiters {
		ready(p, err)
	}
}

// recheck forgets the backend's protocol after a request to it failed, so the next request probes
// it again (it may have been replaced by a server speaking the other protocol).
func (b *backend) recheck() { b.proto.Store(int32(protoUnknown)) }

// closeH2C closes the idle connections of the h2c transport, once the backend is no longer routed
// to; its HTTP/1.1 pool is its owner's (Config.Pool).
func (b *backend) closeH2C() { b.h2c.CloseIdleConnections() }

// closeIdle closes the idle connections of both transports of a client connection's own backend,
// once the connection ended; HTTP/1.1 connections in use close when their exchange ends.
func (b *backend) closeIdle() {
	b.h1.pool.Close()
	b.closeH2C()
}
