// Command backend is the test backend that the integration tests run in containers: one static
// binary that serves HTTP/1.1, h2c, WebSocket, SSE or gRPC depending on -mode (see package api for the
// endpoints of each mode). It listens on -addr, logs api.ReadyLine once listening, and exits 0
// on SIGTERM or SIGINT after closing every connection at once (so a stopped container cuts its
// clients off mid-response, as a crashed server would).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"

	"proxyd.dev/integration/backend/api"
)

func main() {
	mode := flag.String("mode", api.ModeHTTP1, "what to serve: http1, h2c, ws, sse, grpc or grpc-native")
	name := flag.String("name", "backend", "name reported in every echo")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	proxied := flag.Bool("proxy-protocol", false, "read a PROXY protocol header (v1 or v2) at the start of every connection; echoes report its client")
	flag.Parse()
	if err := run(*mode, *name, *addr, *proxied); err != nil {
		log.Printf("backend: %v", err)
		os.Exit(1)
	}
}

func run(mode, name, addr string, proxied bool) error {
	srv, err := newServer(mode, name)
	if err != nil {
		return err
	}
	var ln net.Listener
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on -addr %q: %w", addr, err)
	}
	if proxied {
		ln = newProxyListener(ln)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go closeOnDone(ctx, srv)
	log.Printf("%s mode=%s name=%s addr=%s", api.ReadyLine, mode, name, ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	}
	log.Printf("backend stopped")
	return nil
}

// server serves a mode on a listener until Close, which ends its connections at once.
type server interface {
	Serve(net.Listener) error
	Close() error
}

// closeOnDone closes srv and all its connections, without a grace period, when ctx ends.
func closeOnDone(ctx context.Context, srv server) {
	<-ctx.Done()
	srv.Close()
}

// nativeGRPC is the server of api.ModeGRPCNative: grpc-go's own.
type nativeGRPC struct{ *grpc.Server }

// Close stops the server and closes its connections.
func (g nativeGRPC) Close() error {
	g.Stop()
	return nil
}

// newServer returns the server of one mode.
func newServer(mode, name string) (server, error) {
	if mode == api.ModeGRPCNative {
		return nativeGRPC{newGRPCServer()}, nil
	}
	srv := &http.Server{}
	switch mode {
	case api.ModeHTTP1:
		srv.Handler = newHTTPMux(name)
	case api.ModeH2C:
		srv.Handler = newH2CMux(name)
		srv.Protocols = h2cProtocols()
	case api.ModeWS:
		srv.Handler = http.HandlerFunc(serveWebSocketEcho)
	case api.ModeSSE:
		srv.Handler = newSSEMux()
	case api.ModeGRPC:
		srv.Handler = newGRPCServer()
		srv.Protocols = h2cProtocols()
	default:
		return nil, fmt.Errorf("unknown -mode %q (want %s, %s, %s, %s, %s or %s)",
			mode, api.ModeHTTP1, api.ModeH2C, api.ModeWS, api.ModeSSE, api.ModeGRPC, api.ModeGRPCNative)
	}
	return srv, nil
}
