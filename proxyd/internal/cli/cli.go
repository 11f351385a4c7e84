// Package cli defines proxyd's command line: the flags, their defaults, their help text and the
// validation that turns them into an engine configuration.
package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"proxyd.dev/proxyd/internal/engine"
	"proxyd.dev/proxyd/internal/forwarded"
	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/proxyd/internal/proxyproto"
	"proxyd.dev/router"
)

// Version is proxyd's release version; --version prints it with the commit and Go version the
// binary was built from (VersionString).
const Version = "0.1.0"

// maxRingLoops bounds --ring-loops-count: each loop holds a thread and an io_uring instance of
// about 100 KiB, and one serves tens of thousands of requests a second.
const maxRingLoops = 256

// ExitUsage is the exit status for invalid arguments.
const ExitUsage = 2

// description is the text that --help prints above the flags.
const description = `A minimal, fast reverse proxy that routes every HTTP request to a backend by its URL path.

Each request is routed on its own, also on keep-alive connections: the longest route that is a
prefix of the path on a segment boundary wins ("/api" matches "/api", "/api/x" and "/api?q", not
"/apiary"; "/api*" is a plain string prefix); everything else goes to DEFAULT_BACKEND.
--rewrite strips the matched prefix from the path before forwarding.

Examples:

  API gateway, one backend per API version:
    proxyd :8080 127.0.0.1:3000 -r /api=127.0.0.1:4000 -r /api/v2=127.0.0.1:4002

  Microservices behind one port, service prefix stripped:
    proxyd 0.0.0.0:80 web:8080 -r /users=users:9000 -r /orders=orders:9000 --rewrite

  Webhook fan-out, each provider to its own handler:
    proxyd [::]:8443 127.0.0.1:8000 -r /webhook/stripe=127.0.0.1:7001 -r /webhook/github=127.0.0.1:7002`

// Args is the command line as kong parses it.
type Args struct {
	Listen         string   `arg:"" name:"LISTEN_ADDRESS" help:"Address to listen on: ip:port, :port or [ipv6]:port."`
	DefaultBackend string   `arg:"" name:"DEFAULT_BACKEND" help:"host:port that receives every request no route matches."`
	Routes         []string `short:"r" name:"route" placeholder:"PATH=BACKEND" sep:"none" help:"Route requests whose path starts with PATH to BACKEND (host:port). Repeatable."`
	RoutesFile     string   `name:"routes-file" placeholder:"PATH" help:"Read more routes from this file, one PATH=BACKEND per line (# starts a comment); re-read on SIGHUP."`
	Check          bool     `help:"Check the arguments and the routes file, then exit: 0 when they are valid, 2 otherwise."`
	Rewrite        bool     `help:"Strip the matched route prefix from the path before forwarding."`
	EscapedSlashes string   `default:"keep" enum:"keep,reject,decode" help:"What an encoded slash (%2F) in a path means for routing: keep (an ordinary character), reject (400) or decode (a slash; for backends that decode it)."`
	AllowConnect   bool     `help:"Forward CONNECT to the default backend and tunnel after a 2xx answer (otherwise 405)."`
	Forwarded      bool     `help:"Tell backends the client's address: append it to X-Forwarded-For, set X-Forwarded-Proto and Forwarded; such fields the client sent are removed unless --trust-forwarded covers it."`
	TrustForwarded []string `name:"trust-forwarded" placeholder:"CIDR" help:"Clients (CIDR prefixes or addresses; repeatable or comma-separated) whose X-Forwarded-* and Forwarded fields are kept and extended with --forwarded."`
	ProxyProtocol  string   `name:"proxy-protocol" placeholder:"v1|v2" help:"Start every backend connection with a PROXY protocol header (v1 or v2) naming the client; such connections are never pooled."`

	HeaderTimeout         time.Duration `default:"10s" help:"Time a client has to send a complete request head."`
	IdleTimeout           time.Duration `default:"60s" help:"Time a keep-alive client connection may stay idle between requests, and a transfer may go without progress (a body that stops arriving, a peer that stops reading)."`
	DialTimeout           time.Duration `default:"5s" help:"Time to connect to a backend (504 when it runs out)."`
	ResponseHeaderTimeout time.Duration `default:"60s" help:"Time a backend has to start its response once the request is sent (504 when it runs out)."`
	TunnelIdleTimeout     time.Duration `default:"1h" help:"Time an upgraded connection (WebSocket, also over HTTP/2) may go without a byte moving either way."`
	ShutdownTimeout       time.Duration `default:"10s" help:"Grace period for in-flight requests on SIGTERM/SIGINT."`
	MaxHeaderSize         int           `default:"65536" help:"Largest request head in bytes (431 beyond it)."`
	BackendIdleConns      int           `default:"128" help:"Idle connections kept per backend for reuse."`
	RingLoops             bool          `name:"ring-loops" default:"true" negatable:"" help:"Serve HTTP/1.x exchanges on io_uring event loops, one for every two cores (one on one core), while at least 16 connections per loop are busy (Linux 6.1 or later); on by default, --no-ring-loops serves every connection on goroutines. Without io_uring, or where it is refused, connections are served on goroutines."`
	RingLoopsBusy         int           `name:"ring-loops-busy" placeholder:"N" help:"With --ring-loops: the loops serve once N keep-alive connections are busy (their last wait for a request was brief), until fewer than N/2 are; 0 means 16 per loop, -1 always."`
	RingLoopsCount        int           `name:"ring-loops-count" placeholder:"N" help:"With --ring-loops: how many loops serve, at most 256 and never more than GOMAXPROCS; 0 means one for every two cores (GOMAXPROCS), at least one. Loops on every core let other work run after each millisecond of serving."`

	LogLevel  string           `default:"info" enum:"debug,info,warn,error" help:"Log level: debug, info, warn or error."`
	LogFormat string           `default:"text" enum:"text,json" help:"Log format: text or json."`
	AccessLog bool             `help:"Log one line per request: method, path, backend, status, bytes, duration."`
	AdminAddr string           `name:"admin-addr" placeholder:"ADDR" help:"Serve Prometheus /metrics, /healthz and /readyz on this separate address (ip:port); off by default."`
	Version   kong.VersionFlag `help:"Print the version and exit."`
}

// Bounds of the numeric flags.
const (
	minHeaderSize = 1 << 10 // 1 KiB: room for a request line and a Host header
	maxHeaderSize = 1 << 20 // 1 MiB
)

// Parse parses args (without the program name). Help and version output go to stdout and call exit
// with status 0. Invalid arguments return an error whose text is one line naming the bad argument.
func Parse(args []string, stdout, stderr io.Writer, exit func(int)) (*Args, error) {
	var a Args
	parser, err := kong.New(&a,
		kong.Name("proxyd"),
		kong.Description(description),
		kong.Vars{"version": VersionString()},
		kong.Writers(stdout, stderr),
		kong.Exit(exit),
	)
	if err != nil {
		return nil, err
	}
	if _, err := parser.Parse(args); err != nil {
		return nil, err
	}
	return &a, nil
}

// Config validates the parsed arguments and builds the engine configuration.
func (a *Args) Config(logger *slog.Logger) (engine.Config, error) {
	if err := checkListen("LISTEN_ADDRESS", a.Listen); err != nil {
		return engine.Config{}, err
	}
	if a.AdminAddr != "" {
		if err := checkListen("--admin-addr", a.AdminAddr); err != nil {
			return engine.Config{}, err
		}
		if a.AdminAddr == a.Listen && !strings.HasSuffix(a.Listen, ":0") { // ":0" picks a free port each time
			return engine.Config{}, fmt.Errorf("--admin-addr %q: must differ from LISTEN_ADDRESS (the admin endpoints never share the proxy's port)", a.AdminAddr)
		}
	}
	table, err := a.Table()
	if err != nil {
		return engine.Config{}, err
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{
		{"--header-timeout", a.HeaderTimeout},
		{"--idle-timeout", a.IdleTimeout},
		{"--dial-timeout", a.DialTimeout},
		{"--response-header-timeout", a.ResponseHeaderTimeout},
		{"--tunnel-idle-timeout", a.TunnelIdleTimeout},
		{"--shutdown-timeout", a.ShutdownTimeout},
	} {
		if d.v <= 0 {
			return engine.Config{}, fmt.Errorf("%s=%s: must be greater than zero", d.flag, d.v)
		}
	}
	if a.MaxHeaderSize < minHeaderSize || a.MaxHeaderSize > maxHeaderSize {
		return engine.Config{}, fmt.Errorf("--max-header-size=%d: must be between %d and %d bytes", a.MaxHeaderSize, minHeaderSize, maxHeaderSize)
	}
	if a.BackendIdleConns < 0 {
		return engine.Config{}, fmt.Errorf("--backend-idle-conns=%d: must not be negative", a.BackendIdleConns)
	}
	if a.RingLoopsCount < 0 || a.RingLoopsCount > maxRingLoops {
		return engine.Config{}, fmt.Errorf("--ring-loops-count=%d: must be between 0 and %d", a.RingLoopsCount, maxRingLoops)
	}
	var m *metrics.Metrics
	if a.AdminAddr != "" {
		m = metrics.New()
	}
	fwd, err := a.forwardedPolicy()
	if err != nil {
		return engine.Config{}, err
	}
	var pp proxyproto.Version
	if a.ProxyProtocol != "" {
		if pp, err = proxyproto.ParseVersion(a.ProxyProtocol); err != nil {
			return engine.Config{}, fmt.Errorf("--proxy-protocol: %w", err)
		}
	}
	return engine.Config{
		Metrics:               m,
		Forwarded:             fwd,
		ProxyProtocol:         pp,
		Routes:                table,
		Rewrite:               a.Rewrite,
		HeaderTimeout:         a.HeaderTimeout,
		IdleTimeout:           a.IdleTimeout,
		DialTimeout:           a.DialTimeout,
		ResponseHeaderTimeout: a.ResponseHeaderTimeout,
		TunnelIdleTimeout:     a.TunnelIdleTimeout,
		MaxHeaderSize:         a.MaxHeaderSize,
		BackendIdleConns:      a.BackendIdleConns,
		RingLoops:             a.RingLoops,
		RingLoopsBusy:         a.RingLoopsBusy,
		RingLoopsCount:        a.RingLoopsCount,
		AllowConnect:          a.AllowConnect,
		AccessLog:             a.AccessLog,
		Logger:                logger,
	}, nil
}

// Table builds the route table from DEFAULT_BACKEND, the --route flags and the routes file, which
// it reads again on every call (SIGHUP reloads call it). A route given twice, on the command line
// or in the file, is an error naming both places; every bad line of the file is reported.
func (a *Args) Table() (*router.Table, error) {
	def, err := router.ParseBackend(a.DefaultBackend)
	if err != nil {
		return nil, fmt.Errorf("DEFAULT_BACKEND: %w", err)
	}
	sourced := make([]sourcedRoute, 0, len(a.Routes))
	for _, spec := range a.Routes {
		r, err := router.ParseRoute(spec)
		if err != nil {
			return nil, fmt.Errorf("--route %q: %w", spec, err)
		}
		sourced = append(sourced, sourcedRoute{route: r, source: fmt.Sprintf("--route %q", spec)})
	}
	if a.RoutesFile != "" {
		fromFile, err := readRoutesFile(a.RoutesFile)
		if err != nil {
			return nil, err
		}
		sourced = append(sourced, fromFile...)
	}
	if err := checkDuplicates(sourced); err != nil {
		return nil, err
	}
	slashes, err := router.ParseEscapedSlashes(a.EscapedSlashes)
	if err != nil {
		return nil, fmt.Errorf("--escaped-slashes: %w", err)
	}
	routes := make([]router.Route, len(sourced))
	for i, r := range sourced {
		routes[i] = r.route
	}
	table, err := router.New(def, routes, router.Options{EscapedSlashes: slashes})
	if err != nil {
		return nil, fmt.Errorf("--route: %w", err)
	}
	return table, nil
}

// forwardedPolicy returns the policy of --forwarded and --trust-forwarded, nil when --forwarded is
// off.
func (a *Args) forwardedPolicy() (*forwarded.Policy, error) {
	if !a.Forwarded {
		if len(a.TrustForwarded) > 0 {
			return nil, errors.New("--trust-forwarded: needs --forwarded")
		}
		return nil, nil
	}
	trusted, err := forwarded.ParseTrusted(a.TrustForwarded)
	if err != nil {
		return nil, fmt.Errorf("--trust-forwarded: %w", err)
	}
	return forwarded.New(trusted), nil
}

// Logger builds the logger the flags ask for, writing to w.
func (a *Args) Logger(w io.Writer) *slog.Logger {
	var level slog.Level
	// The enum tag has already restricted LogLevel to names slog knows.
	_ = level.UnmarshalText([]byte(a.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if a.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// checkListen validates the listen address named name: ip:port, :port or [ipv6]:port with a port
// from 0 to 65535 (0 lets the system choose).
func checkListen(name, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s %q: want ip:port, :port or [ipv6]:port", name, addr)
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return fmt.Errorf("%s %q: host %q is not an IP address", name, addr, host)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Errorf("%s %q: bad port %q (want 0-65535)", name, addr, port)
	}
	return nil
}
