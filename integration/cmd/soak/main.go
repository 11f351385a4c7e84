//go:build linux

// Command soak runs proxyd under load and abuse on loopback and checks that it stays correct and
// gives back what it takes: file descriptors, memory and threads. Each run is one scenario:
//
//	soak -scenario many|hostile|faults|fdlimit|shutdown|soak|h2|h2held -proxyd PATH [flags]
//
// The backends are served by soak itself, in-process on free loopback ports; proxyd runs as a child
// process on a free loopback port and is stopped with SIGTERM at the end (it must exit 0). soak
// prints detail lines, then one line "PASS name: figures" or "FAIL name: figures; failed: why",
// and exits 1 when the scenario failed. scripts/soak.sh builds everything and runs every scenario.
// It runs on Linux only: it measures proxyd through /proc.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	scenario string
	proxyd   string
	logDir   string
	timeout  time.Duration
	fdMargin int

	conns        int
	requests     int
	dialParallel int
	poolIdle     time.Duration

	hostile       int
	normal        int
	headerTimeout time.Duration
	idleTimeout   time.Duration

	faults          int
	responseTimeout time.Duration

	fdLimit int
	fdExtra int

	shutdownConns   int
	shutdownSlow    int
	shutdownTimeout time.Duration

	duration   time.Duration
	soakConns  int
	rate       int
	tolerance  float64
	heapMargin int // MiB

	h2Conns   int
	h2Streams int
}

func main() {
	var o options
	flag.StringVar(&o.scenario, "scenario", "", "scenario to run: many, hostile, faults, fdlimit, shutdown, soak, h2 or h2held")
	flag.StringVar(&o.proxyd, "proxyd", "", "path of the proxyd binary")
	flag.StringVar(&o.logDir, "log-dir", os.TempDir(), "directory for proxyd's logs")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "bound of the whole scenario (for soak, beyond -duration)")
	flag.IntVar(&o.fdMargin, "fd-margin", 5, "descriptors above the baseline still counted as back to baseline")

	flag.IntVar(&o.conns, "conns", 9000, "many: concurrent keep-alive client connections")
	flag.IntVar(&o.requests, "requests", 10, "many: requests per connection")
	flag.IntVar(&o.dialParallel, "dial-parallel", 256, "connections being opened at once")
	flag.DurationVar(&o.poolIdle, "pool-idle", 30*time.Second, "how long proxyd keeps idle backend connections")

	flag.IntVar(&o.hostile, "hostile", 200, "hostile: clients of each kind")
	flag.IntVar(&o.normal, "normal", 10, "hostile: well-behaved clients running meanwhile")
	flag.DurationVar(&o.headerTimeout, "header-timeout", 2*time.Second, "hostile: proxyd's --header-timeout")
	flag.DurationVar(&o.idleTimeout, "idle-timeout", 3*time.Second, "hostile: proxyd's --idle-timeout")

	flag.IntVar(&o.faults, "faults", 20, "faults: requests per fault")
	flag.DurationVar(&o.responseTimeout, "response-header-timeout", 2*time.Second, "faults: proxyd's --response-header-timeout")

	flag.IntVar(&o.fdLimit, "fd-limit", 200, "fdlimit: open-file limit of proxyd")
	flag.IntVar(&o.fdExtra, "fd-extra", 400, "fdlimit: connections opened against it")

	flag.IntVar(&o.shutdownConns, "shutdown-conns", 200, "shutdown: client connections")
	flag.IntVar(&o.shutdownSlow, "shutdown-slow", 50, "shutdown: of them, those with a 1 s response in flight")
	flag.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 5*time.Second, "shutdown: proxyd's --shutdown-timeout")

	flag.DurationVar(&o.duration, "duration", 5*time.Minute, "soak: duration")
	flag.IntVar(&o.soakConns, "soak-conns", 100, "soak: client connections")
	flag.IntVar(&o.h2Conns, "h2-conns", 64, "h2: HTTP/2 client connections")
	flag.IntVar(&o.h2Streams, "h2-streams", 32, "h2: concurrent streams per connection")
	flag.IntVar(&o.rate, "rate", 1000, "soak: requests per second, all connections together")
	flag.Float64Var(&o.tolerance, "tolerance", 0.10, "soak: growth allowed from the first third to the last, as a fraction")
	flag.IntVar(&o.heapMargin, "heap-margin", 4, "soak: MiB of anonymous memory above the tolerance still counted as flat (the collector's slack)")
	flag.Parse()
	os.Exit(run(o))
}

// run runs the scenario o names and returns the exit status.
func run(o options) int {
	scenarios := map[string]func(context.Context, *env) *result{
		"many":     runMany,
		"hostile":  runHostile,
		"faults":   runFaults,
		"fdlimit":  runFDLimit,
		"shutdown": runShutdown,
		"soak":     runSoak,
		"h2":       runH2,
		"h2held":   runH2Held,
	}
	fn, ok := scenarios[o.scenario]
	if !ok || o.proxyd == "" {
		fmt.Fprintln(os.Stderr, "usage: soak -scenario many|hostile|faults|fdlimit|shutdown|soak|h2|h2held -proxyd PATH [flags]")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	bound := o.timeout
	if o.scenario == "soak" {
		bound += o.duration
	}
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()

	e := newEnv(o)
	defer e.end()
	done := make(chan *result, 1)
	go func() { done <- fn(ctx, e) }()
	var r *result
	select {
	case r = <-done:
	case <-ctx.Done():
		// Everything a scenario waits for is bounded by ctx: give it a moment to wind down.
		select {
		case r = <-done:
		case <-time.After(30 * time.Second):
			r = newResult(o.scenario)
			r.check(false, "scenario did not end within %s", bound)
		}
	}
	if ctx.Err() != nil {
		r.check(false, "interrupted: %v", context.Cause(ctx))
	}
	r.print(os.Stdout)
	if r.failed() {
		return 1
	}
	return 0
}
