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
	"sync/atomic"
	"syscall"

	"proxyd.dev/proxyd/internal/admin"
	"proxyd.dev/proxyd/internal/cli"
	"proxyd.dev/proxyd/internal/engine"
	"proxyd.dev/proxyd/internal/exepages"
	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/router"
)

func main() {
	// The signals stay caught from before the "listening" line until the process exits: one that
	// came after run had stopped catching it would end the process by the default action, with
	// status 143 rather than 0, even while it is only closing its listeners. A second SIGTERM or
	// SIGINT during the grace period is ignored; --shutdown-timeout bounds the shutdown.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, signals))
}

// run is proxyd without the process around it: it returns the exit status. signals delivers
// SIGHUP (reload the routes file) and SIGTERM or SIGINT (shut down).
func run(args []string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	args0, err := cli.Parse(args, stdout, stderr, os.Exit)
	if err != nil {
		fmt.Fprintf(stderr, "proxyd: error: %v\n", err)
		return cli.ExitUsage
	}
	logger := args0.Logger(stderr)
	cfg, err := args0.Config(logger)
	if err != nil {
		for _, e := range errorList(err) {
			fmt.Fprintf(stderr, "proxyd: error: %v\n", e)
		}
		return cli.ExitUsage
	}
	if args0.Check {
		fmt.Fprintf(stdout, "proxyd: configuration valid: default backend %s, %d routes\n", cfg.Routes.Backends()[0], len(cfg.Routes.Routes()))
		return 0
	}
	ln, err := listen(args0.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "proxyd: cannot listen on %s: %v\n", args0.Listen, err)
		return 1
	}
	srv := engine.New(cfg)
	var stopping atomic.Bool // set when a signal asks proxyd to stop
	cfg.Metrics.RoutesLoaded(true)
	if args0.AdminAddr != "" {
		adminLn, err := net.Listen("tcp", args0.AdminAddr)
		if err != nil {
			fmt.Fprintf(stderr, "proxyd: cannot listen on --admin-addr %s: %v\n", args0.AdminAddr, err)
			return 1
		}
		// Not ready from the moment the shutdown is decided, before it is even logged.
		adm := admin.New(cfg.Metrics.Handler(), func() bool { return !stopping.Load() }, logger)
		go adm.Serve(adminLn)
		defer adm.Close()
		logger.Info("admin endpoints", "addr", adminLn.Addr().String(), "paths", "/metrics /healthz /readyz")
	}
	logStart(logger, ln.Addr(), cfg)
	// What starting touched of the executable leaves the resident set; serving maps what it uses.
	// Where that cannot be done (no /proc, a packed executable) nothing changes but the memory.
	if n, err := exepages.Release(); err != nil {
		logger.Debug("executable pages kept", "err", err)
	} else {
		logger.Debug("executable pages released", "bytes", n)
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	for stop := false; !stop; {
		select {
		case err := <-served:
			logger.Error("stopped serving", "err", err)
			return 1
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				reloadRoutes(logger, args0, srv, cfg.Metrics)
			} else {
				stop = true
			}
		}
	}
	stopping.Store(true)
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

// listen listens on addr for client connections. They get no TCP keepalive probes, as nginx's and
// HAProxy's by default: every idle or silent connection ends by proxyd's own timeouts, and each
// accept saves four setsockopt(2) calls. On Linux a connection is accepted once its first bytes
// have come (deferAccept), so that its first read finds them rather than a wait.
func listen(addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1, Control: deferAccept}
	return lc.Listen(context.Background(), "tcp", addr)
}

// logStart prints where proxyd listens, its default backend, its routes in match order and whether
// rewriting is on. The "listening" line comes last: once it is out, connections are accepted.
func logStart(logger *slog.Logger, addr net.Addr, cfg engine.Config) {
	logRoutes(logger, cfg.Routes)
	logger.Info("listening", "addr", addr.String(), "routes", len(cfg.Routes.Routes()), "rewrite", cfg.Rewrite)
}

// logRoutes prints the default backend and the routes in match order.
func logRoutes(logger *slog.Logger, t *router.Table) {
	logger.Info("default backend", "backend", t.Backends()[0])
	for i, r := range t.Routes() {
		logger.Info("route", "order", i+1, "route", r.String())
	}
}

// reloadRoutes builds the route table again, reading the routes file, and makes it the server's.
// When the file does not give a valid table, every error is logged (with its line number) and the
// running table stays.
func reloadRoutes(logger *slog.Logger, a *cli.Args, srv *engine.Server, m *metrics.Metrics) {
	if a.RoutesFile == "" {
		logger.Warn("SIGHUP: no --routes-file to reload; routes unchanged")
		return
	}
	t, err := a.Table()
	m.RoutesLoaded(err == nil)
	if err != nil {
		for _, e := range errorList(err) {
			logger.Error("routes not reloaded", "err", e)
		}
		return
	}
	srv.SetRoutes(t)
	logRoutes(logger, t)
	logger.Info("routes reloaded", "file", a.RoutesFile, "routes", len(t.Routes()))
}

// errorList returns the errors err joins (errors.Join), or err alone.
func errorList(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
