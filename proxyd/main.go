// Command proxyd is a minimal, fast reverse proxy that routes each HTTP request to a backend server
// by its URL path.
//
//	proxyd LISTEN_ADDRESS DEFAULT_BACKEND [-r PATH=BACKEND]... [--rewrite] [flags]
//
// Run "proxyd --help" for the flags.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"proxyd.dev/proxyd/internal/cli"
	"proxyd.dev/proxyd/internal/engine"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is proxyd without the process around it: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	args0, err := cli.Parse(args, stdout, stderr, os.Exit)
	if err != nil {
		fmt.Fprintf(stderr, "proxyd: error: %v\n", err)
		return cli.ExitUsage
	}
	logger := args0.Logger(stderr)
	cfg, err := args0.Config(logger)
	if err != nil {
		fmt.Fprintf(stderr, "proxyd: error: %v\n", err)
		return cli.ExitUsage
	}
	ln, err := net.Listen("tcp", args0.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "proxyd: cannot listen on %s: %v\n", args0.Listen, err)
		return 1
	}
	srv := engine.New(cfg)
	logStart(logger, ln.Addr(), cfg)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		logger.Error("stopped serving", "err", err)
		return 1
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", args0.ShutdownTimeout)
	graceCtx, cancel := context.WithTimeout(context.Background(), args0.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(graceCtx); err != nil {
		logger.Warn("grace period over, closed remaining connections", "err", err)
	}
	<-served
	logger.Info("stopped")
	return 0
}

// logStart prints where proxyd listens, its default backend, its routes in match order and whether
// rewriting is on. The "listening" line comes last: once it is out, connections are accepted.
func logStart(logger *slog.Logger, addr net.Addr, cfg engine.Config) {
	backends := cfg.Routes.Backends()
	logger.Info("default backend", "backend", backends[0])
	for i, r := range cfg.Routes.Routes() {
		logger.Info("route", "order", i+1, "route", r.String())
	}
	logger.Info("listening", "addr", addr.String(), "routes", len(cfg.Routes.Routes()), "rewrite", cfg.Rewrite)
}
