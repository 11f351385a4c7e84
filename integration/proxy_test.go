package integration

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Limits of the proxyd helper.
const (
	// proxyStartTimeout bounds the wait for proxyd's listening line (10 s).
	proxyStartTimeout = 10 * time.Second
	// proxyShutdownGrace is passed as --shutdown-timeout (2 s): tests close their connections
	// before proxyd is stopped, so it has nothing to wait for.
	proxyShutdownGrace = 2 * time.Second
	// proxyExitTimeout bounds the wait for proxyd to exit after SIGTERM (10 s).
	proxyExitTimeout = 10 * time.Second
)

// listeningMarker is the text of the line proxyd logs on stderr (text format) once it accepts
// connections.
const listeningMarker = "msg=listening"

// noRingLoops begins the line a proxyd logs when it could not start its ring loops.
const noRingLoops = "no ring loops"

// proxyProcess is a proxyd subprocess: its address, its command and its stderr.
type proxyProcess struct {
	addr   string
	cmd    *exec.Cmd
	stderr *processLog
	exited chan error // receives the exit status once; put back by whoever takes it
}

// startProxy runs the proxyd binary on a free loopback address with the given default backend
// and further arguments (routes, flags), waits until it logs that it listens, and returns its
// address. When the test ends it sends SIGTERM, waits for the exit and fails the test unless the
// exit status is 0; proxyd's stderr goes into the log of a failed test.
func startProxy(t *testing.T, defaultBackend string, args ...string) string {
	t.Helper()
	return runProxy(t, defaultBackend, args...).addr
}

// startProxyLoops is startProxy with ring loops serving whatever the load when ringLoops is set,
// and with --no-ring-loops otherwise; it fails the test when proxyd logs that it serves without
// the loops it was to start.
func startProxyLoops(t *testing.T, ringLoops bool, defaultBackend string, args ...string) string {
	t.Helper()
	loops := []string{"--no-ring-loops"}
	if ringLoops {
		// The loops serve however few connections are busy, as a test makes only a few.
		loops = []string{"--ring-loops", "--ring-loops-busy=-1"}
	}
	p := runProxy(t, defaultBackend, append(args[:len(args):len(args)], loops...)...)
	if found, _ := p.stderr.appeared(noRingLoops, 0); ringLoops && found {
		t.Fatalf("proxyd serves without ring loops: %s", p.stderr)
	}
	return p.addr
}

// runProxy is startProxy, returning the process for tests that signal it or read its log.
func runProxy(t *testing.T, defaultBackend string, args ...string) *proxyProcess {
	t.Helper()
	if built.proxydErr != nil {
		t.Fatalf("proxyd did not build: %v", built.proxydErr)
	}
	p := &proxyProcess{addr: freeAddr(t), stderr: newProcessLog(), exited: make(chan error, 1)}
	argv := append([]string{p.addr, defaultBackend, "--shutdown-timeout=" + proxyShutdownGrace.String(), "--access-log"}, args...)
	p.cmd = exec.Command(built.proxyd, argv...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.cmd, err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { stopProxy(t, p.cmd, p.exited, p.stderr) })
	p.waitLog(t, listeningMarker, 0, proxyStartTimeout)
	return p
}

// waitLog waits until text appears in proxyd's stderr at or after byte offset from; it fails the
// test when proxyd exits first or timeout passes.
func (p *proxyProcess) waitLog(t *testing.T, text string, from int, timeout time.Duration) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		found, changed := p.stderr.appeared(text, from)
		if found {
			return
		}
		select {
		case <-changed:
		case err := <-p.exited:
			p.exited <- err // for stopProxy
			t.Fatalf("%s exited before logging %q: %v", p.cmd, text, err)
		case <-timer.C:
			t.Fatalf("%s logged no %q within %v", p.cmd, text, timeout)
		}
	}
}

// stopProxy sends SIGTERM, waits for the exit and checks its status.
func stopProxy(t *testing.T, cmd *exec.Cmd, exited chan error, stderr *processLog) {
	defer func() {
		if t.Failed() {
			t.Logf("stderr of %s:\n%s", cmd, stderr.String())
		}
	}()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("sending SIGTERM to proxyd: %v", err)
	}
	timer := time.NewTimer(proxyExitTimeout)
	defer timer.Stop()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("proxyd exit after SIGTERM: %v (want status 0)", err)
		}
	case <-timer.C:
		cmd.Process.Kill()
		t.Errorf("proxyd did not exit within %v of SIGTERM: %v", proxyExitTimeout, <-exited)
	}
}

// processLog collects a process's output; waiters learn of every write.
type processLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced by every write
}

// newProcessLog returns an empty log.
func newProcessLog() *processLog { return &processLog{changed: make(chan struct{})} }

// Write appends p and wakes the waiters.
func (l *processLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// appeared reports whether text is in the log at or after byte offset from, and returns a channel
// closed at the next write.
func (l *processLog) appeared(text string, from int) (bool, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Contains(l.buf.Bytes()[min(from, l.buf.Len()):], []byte(text)), l.changed
}

// Len returns how many bytes were written so far: an offset for appeared.
func (l *processLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Len()
}

// String returns everything written so far.
func (l *processLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
