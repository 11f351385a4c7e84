package h2

import (
	"context"
	"net"
	"net/netip"
	"sync"

	"proxyd.dev/proxyd/internal/proxyproto"
)

// connBackends are the backends of one client connection when backend connections start with a
// PROXY protocol header: such a connection carries that client's address, so it serves that
// client connection's streams only and closes with it. Its methods are safe for concurrent use.
type connBackends struct {
	s      *Server // whose configuration and buffers the backends take
	header []byte  // the PROXY protocol header of the client connection

	mu     sync.Mutex
	byAddr map[string]*backend
}

// connBackendsKey is the context key of the connBackends of a stream's connection.
type connBackendsKey struct{}

// newConnBackends returns the backends of s's client connection conn, whose PROXY protocol header
// (of s's version) names its peer and the address it connected to, reading through s's buffers.
func newConnBackends(s *Server, conn net.Conn) *connBackends {
	return &connBackends{
		s:      s,
		header: proxyproto.AppendHeader(nil, s.cfg.ProxyProtocol, addrPort(conn.RemoteAddr()), addrPort(conn.LocalAddr())),
		byAddr: make(map[string]*backend),
	}
}

// addrPort returns a TCP address as a netip.AddrPort; the zero value (an unknown address) for any
// other.
func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	return netip.AddrPort{}
}

// backend returns the connection's own backend for shared, made on first use; it starts with the
// protocol the shared backend's probe found, if any.
func (cb *connBackends) backend(shared *backend) *backend {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	b, ok := cb.byAddr[shared.addr]
	if !ok {
		b = newBackend(shared.addr, cb.s, cb.s.cfg.NewPool(shared.addr), cb.header)
		b.proto.Store(shared.proto.Load())
		cb.byAddr[shared.addr] = b
	}
	return b
}

// close closes the idle connections of every backend of the client connection, once it has ended.
func (cb *connBackends) close() {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	for _, b := range cb.byAddr {
		b.closeIdle()
	}
}

// streamBackend returns the backend a stream routed to shared is forwarded to: shared itself, or
// the client connection's own when backend connections carry its address.
func streamBackend(ctx context.Context, shared *backend) *backend {
	if cb, ok := ctx.Value(connBackendsKey{}).(*connBackends); ok {
		return cb.backend(shared)
	}
	return shared
}

// clientAddr returns the address of a stream's client from its RemoteAddr ("ip:port"); the zero
// Addr when it does not parse.
func clientAddr(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr()
}
