package integration

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/wait"

	"proxyd.dev/integration/backend/api"
)

// Limits of the container helpers.
const (
	// containerTimeout bounds starting, stopping or removing one container (60 s).
	containerTimeout = 60 * time.Second
	// stopGrace is how long `docker stop` waits after SIGTERM before it kills (10 s); the
	// backend exits at once on SIGTERM.
	stopGrace = 10 * time.Second
	// maxLogBytes bounds the container log copied into a failed test's log (64 KiB).
	maxLogBytes = 64 << 10
)

// backend is one backend container. It uses host networking and listens on addr, a loopback
// address chosen free when it was started.
type backend struct {
	// addr is the backend's host:port.
	addr string
	ctr  *testcontainers.DockerContainer
	// starts counts the starts of the container, so a restart waits for a new readiness line.
	starts int
}

// startBackend starts a backend container of the given mode (an api.Mode… constant) and name,
// waits until it logs api.ReadyLine and terminates it when the test ends.
func startBackend(t *testing.T, mode, name string) *backend {
	t.Helper()
	b := &backend{addr: freeAddr(t), starts: 1}
	ctx, cancel := context.WithTimeout(t.Context(), containerTimeout)
	defer cancel()
	ctr, err := testcontainers.Run(ctx, built.image,
		testcontainers.WithLogger(log.TestLogger(t)),
		testcontainers.WithCmd("-mode", mode, "-name", name, "-addr", b.addr),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.NetworkMode = "host"
		}),
		testcontainers.WithWaitStrategy(readiness(b.starts)),
	)
	// Run can return a container together with an error: clean it up either way.
	b.ctr = ctr
	t.Cleanup(func() { b.terminate(t) })
	if err != nil {
		t.Fatalf("starting %s backend %s on %s: %v", mode, name, b.addr, err)
	}
	return b
}

// readiness waits for the n-th readiness line in the container's log (logs survive a restart).
func readiness(n int) wait.Strategy {
	return wait.ForLog(api.ReadyLine).WithOccurrence(n).WithStartupTimeout(containerTimeout)
}

// url returns the http URL of path (and query) on the backend itself.
func (b *backend) url(path string) string {
	return "http://" + b.addr + path
}

// stop stops the container; the backend closes every connection at once, as a crash would.
func (b *backend) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), containerTimeout)
	defer cancel()
	grace := stopGrace
	if err := b.ctr.Stop(ctx, &grace); err != nil {
		t.Fatalf("stopping backend on %s: %v", b.addr, err)
	}
}

// restart starts the stopped container again on the same address and waits until it is ready.
func (b *backend) restart(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), containerTimeout)
	defer cancel()
	if err := b.ctr.Start(ctx); err != nil {
		t.Fatalf("restarting backend on %s: %v", b.addr, err)
	}
	b.starts++
	if err := readiness(b.starts).WaitUntilReady(ctx, b.ctr); err != nil {
		t.Fatalf("backend on %s not ready after restart: %v", b.addr, err)
	}
}

// terminate removes the container, first copying its log into the test log if the test failed.
// It runs in t.Cleanup, after t.Context is done, so it has a context of its own.
func (b *backend) terminate(t *testing.T) {
	if b.ctr == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), containerTimeout)
	defer cancel()
	if t.Failed() {
		b.logTo(ctx, t)
	}
	if err := b.ctr.Terminate(ctx); err != nil {
		t.Errorf("terminating backend on %s: %v", b.addr, err)
	}
}

// logTo copies the start of the container's log into the test log.
func (b *backend) logTo(ctx context.Context, t *testing.T) {
	logs, err := b.ctr.Logs(ctx)
	if err != nil {
		t.Logf("log of backend on %s: %v", b.addr, err)
		return
	}
	defer logs.Close()
	text, err := io.ReadAll(io.LimitReader(logs, maxLogBytes))
	t.Logf("log of backend on %s (read error: %v):\n%s", b.addr, err, text)
}
