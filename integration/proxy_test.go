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

// startProxy runs the proxyd binary on a free loopback address with the given default backend
// and further arguments (routes, flags), waits until it logs that it listens, and returns its
// address. When the test ends it sends SIGTERM, waits for the exit and fails the test unless the
// exit status is 0; proxyd's stderr goes into the log of a failed test.
func startProxy(t *testing.T, defaultBackend string, args ...string) string {
	t.Helper()
	if built.proxydErr != nil {
		t.Fatalf("proxyd did not build: %v", built.proxydErr)
	}
	addr := freeAddr(t)
	argv := append([]string{addr, defaultBackend, "--shutdown-timeout=" + proxyShutdownGrace.String(), "--access-log"}, args...)
	cmd := exec.Command(built.proxyd, argv...)
	stderr := newMarkerLog(listeningMarker)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { stopProxy(t, cmd, exited, stderr) })
	timer := time.NewTimer(proxyStartTimeout)
	defer timer.Stop()
	select {
	case <-stderr.seen:
		return addr
	case err := <-exited:
		exited <- err // for stopProxy
		t.Fatalf("%s exited before listening: %v", cmd, err)
	case <-timer.C:
		t.Fatalf("%s logged no %q within %v", cmd, listeningMarker, proxyStartTimeout)
	}
	return ""
}

// stopProxy sends SIGTERM, waits for the exit and checks its status.
func stopProxy(t *testing.T, cmd *exec.Cmd, exited chan error, stderr *markerLog) {
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

// markerLog collects a process's output and closes seen once marker has appeared in it.
type markerLog struct {
	marker []byte
	// seen is closed when marker first appears.
	seen chan struct{}

	mu  sync.Mutex
	buf bytes.Buffer
	// searched is how far buf has been searched for marker; -1 once it was found.
	searched int
}

// newMarkerLog returns an empty log that watches for marker.
func newMarkerLog(marker string) *markerLog {
	return &markerLog{marker: []byte(marker), seen: make(chan struct{})}
}

// Write appends p and checks the new bytes (and the marker's length before them) for the marker.
func (l *markerLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if l.searched < 0 {
		return len(p), nil
	}
	if bytes.Contains(l.buf.Bytes()[l.searched:], l.marker) {
		l.searched = -1
		close(l.seen)
		return len(p), nil
	}
	l.searched = max(0, l.buf.Len()-len(l.marker)+1)
	return len(p), nil
}

// String returns everything written so far.
func (l *markerLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
