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
	proto atomic.Int32
	// probing is held while a probe runs, so that one stream probes and the others wait for it.
	probing sync.Mutex
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
// its protocol is not known. A probe that cannot connect returns the dial error.
func (b *backend) transport(ctx context.Context) (protocol, http.RoundTripper, error) {
	p := protocol(b.proto.Load())
	if p == protoUnknown {
		b.probing.Lock()
		defer b.probing.Unlock()
		if p = protocol(b.proto.Load()); p == protoUnknown {
			h2c, err := probeH2C(ctx, b.connect, b.dialer.Timeout)
			if err != nil {
				return protoUnknown, nil, err
			}
			p = protoHTTP1
			if h2c {
				p = protoH2C
			}
			b.proto.Store(int32(p))
		}
	}
	if p == protoH2C {
		return p, b.h2c, nil
	}
	return p, b.h1, nil
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
