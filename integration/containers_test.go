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

// backend is one backend container. Most use host networking and listen on addr, a loopback
// address chosen free when it was started (startBackend); the container tests put them on a
// network of their own (runBackend).
type backend struct {
	// addr is the backend's host:port as proxyd reaches it.
	addr string
	ctr  *testcontainers.DockerContainer
	// starts counts the starts of the container, so a restart waits for a new readiness line.
	starts int
}

// startBackend starts a backend container of the given mode (an api.Mode… constant) and name,
// with further options opts (more arguments), waits until it logs api.ReadyLine and terminates it
// when the test ends.
func startBackend(t *testing.T, mode, name string, opts ...testcontainers.ContainerCustomizer) *backend {
	t.Helper()
	addr := freeAddr(t)
	return runBackend(t, mode, name, addr, addr, append(opts, testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
		hc.NetworkMode = "host"
	}))...)
}

// runBackend starts a backend container of the given mode and name that listens on listen and is
// reached at addr, with the further options opts (its network), waits until it logs
// api.ReadyLine and terminates it when the test ends.
func runBackend(t *testing.T, mode, name, listen, addr string, opts ...testcontainers.ContainerCustomizer) *backend {
	t.Helper()
	b := &backend{addr: addr, starts: 1}
	ctx, cancel := context.WithTimeout(t.Context(), containerTimeout)
	defer cancel()
	ctr, err := testcontainers.Run(ctx, built.image, append([]testcontainers.ContainerCustomizer{
		testcontainers.WithLogger(log.TestLogger(t)),
		testcontainers.WithCmd("-mode", mode, "-name", name, "-addr", listen),
		testcontainers.WithWaitStrategy(readiness(b.starts)),
	}, opts...)...)
	// Run can return a container together with an error: clean it up either way.
	b.ctr = ctr
	t.Cleanup(func() { terminateContainer(t, b.ctr, "backend on "+b.addr) })
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
	stopContainer(t, b.ctr, "backend on "+b.addr)
}

// stopContainer stops ctr as `docker stop` does: SIGTERM, and SIGKILL after stopGrace; it returns
// once the container has exited. what names it in messages.
func stopContainer(t *testing.T, ctr *testcontainers.DockerContainer, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), containerTimeout)
	defer cancel()
	grace := stopGrace
	if err := ctr.Stop(ctx, &grace); err != nil {
		t.Fatalf("stopping %s: %v", what, err)
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

// terminateContainer removes ctr (nil when it was never created), first copying its log into
// the test log if the test failed; what names it in messages. It runs in t.Cleanup, after
// t.Context is done, so it has a context of its own.
func terminateContainer(t *testing.T, ctr *testcontainers.DockerContainer, what string) {
	if ctr == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), containerTimeout)
	defer cancel()
	if t.Failed() {
		logContainer(ctx, t, ctr, what)
	}
	if err := ctr.Terminate(ctx); err != nil {
		t.Errorf("terminating %s: %v", what, err)
	}
}

// logContainer copies the start of ctr's log into the test log.
func logContainer(ctx context.Context, t *testing.T, ctr *testcontainers.DockerContainer, what string) {
	logs, err := ctr.Logs(ctx)
	if err != nil {
		t.Logf("log of %s: %v", what, err)
		return
	}
	defer logs.Close()
	text, err := io.ReadAll(io.LimitReader(logs, maxLogBytes))
	t.Logf("log of %s (read error: %v):\n%s", what, err, text)
}
