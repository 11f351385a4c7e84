//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// env is what every scenario gets: the options, the processes it started (killed however the
// scenario ends, if still running), what else to stop at the end, and the start time of the run.
type env struct {
	opt   options
	procs *procSet
	start time.Time
	mu    sync.Mutex
	ends  []func()
}

// atEnd registers fn to run when the run ends.
func (e *env) atEnd(fn func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ends = append(e.ends, fn)
}

// end kills the processes still running and runs what atEnd registered.
func (e *env) end() {
	e.procs.killAll()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, fn := range e.ends {
		fn()
	}
}

func newEnv(o options) *env {
	return &env{opt: o, procs: &procSet{}, start: time.Now()}
}

// logf prints a detail line, stamped with the time since the scenario started.
func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(os.Stdout, "  [%s %6.1fs] %s\n", e.opt.scenario, time.Since(e.start).Seconds(), fmt.Sprintf(format, args...))
}

// result is one scenario's verdict: its figures in print order and the checks that failed.
type result struct {
	name     string
	mu       sync.Mutex
	figures  []string
	failures []string
}

func newResult(name string) *result { return &result{name: name} }

// figure adds a figure ("key=value ...") to the summary line.
func (r *result) figure(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.figures = append(r.figures, fmt.Sprintf(format, args...))
}

// check records a failure described by format when ok is false, and returns ok.
func (r *result) check(ok bool, format string, args ...any) bool {
	if !ok {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.failures = append(r.failures, fmt.Sprintf(format, args...))
	}
	return ok
}

func (r *result) failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.failures) > 0
}

// print writes the summary line: PASS or FAIL, the scenario, its figures and what failed.
func (r *result) print(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	verdict := "PASS"
	if len(r.failures) > 0 {
		verdict = "FAIL"
	}
	line := fmt.Sprintf("%s %s: %s", verdict, r.name, strings.Join(r.figures, " "))
	if len(r.failures) > 0 {
		line += "; failed: " + strings.Join(r.failures, "; ")
	}
	fmt.Fprintln(w, line)
}
