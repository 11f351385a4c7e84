package integration

import (
	"bufio"
	"bytes"
	"context"
	"debug/buildinfo"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"proxyd.dev/integration/backend/api"
)

// proxydImageRepo names proxyd's image; each run tags it with a random tag.
const proxydImageRepo = "proxyd-integration-proxyd"

// proxydImageTarget is the stage of proxyd/Dockerfile that takes a binary built on the host; the
// stages after it compile proxyd in a Go image, which cannot be pulled here.
const proxydImageTarget = "prebuilt"

// proxydUser is the numeric user:group proxyd's image runs as.
const proxydUser = "65532:65532"

// Ports proxyd's image exposes: the proxy's and the admin listener's (--admin-addr).
const (
	proxydPort = "8080"
	adminPort  = "9090"
)

// backendPort is the port the backends listen on in their containers.
const backendPort = "8080"

// probeInterval is how often /readyz is asked while proxyd drains; the drain lasts
// --shutdown-timeout.
const probeInterval = 20 * time.Millisecond

// TestProxydContainer builds proxyd's image from proxyd/Dockerfile with the static binary
// TestMain built, checks the image's configuration and --version, and runs proxyd in a container
// on a network of its own between two backend containers that it reaches by their DNS names:
// requests through the port published on the host's loopback reach their backends with the
// rewritten target, proxyd runs as a non-root user, its admin listener answers the probes that
// the Kubernetes manifests use, and `docker stop` turns /readyz to 503, drains proxyd and ends it
// with status 0.
func TestProxydContainer(t *testing.T) {
	t.Parallel()
	image := buildProxydImage(t)
	nw, err := network.New(t.Context())
	testcontainers.CleanupNetwork(t, nw) // before the containers, so it runs after their removal
	if err != nil {
		t.Fatalf("creating a network: %v", err)
	}
	t.Run("image config", func(t *testing.T) {
		checkImageConfig(t, image)
	})
	t.Run("version", func(t *testing.T) {
		checkContainerVersion(t, image, nw)
	})
	t.Run("serve and stop", func(t *testing.T) {
		a := startNetworkBackend(t, nw, "backend-a")
		b := startNetworkBackend(t, nw, "backend-b")
		ctr := runProxydContainer(t, image, nw, wait.ForLog(`"msg":"listening"`).WithStartupTimeout(containerTimeout),
			":"+proxydPort, a.addr, "-r", "/api="+b.addr, "--rewrite", "--admin-addr=:"+adminPort,
			"--shutdown-timeout="+proxyShutdownGrace.String(), "--log-format=json")
		proxy := publishedAddr(t, ctr, proxydPort)
		admin := "http://" + publishedAddr(t, ctr, adminPort)

		requests := []route{
			{"/api/users?x=1", "backend-b", "/users?x=1"},
			{"/other", "backend-a", "/other"},
			{"/api", "backend-b", "/"},
			{"/apiary", "backend-a", "/apiary"},
		}
		want := make([]api.Echo, len(requests))
		for i, r := range requests {
			want[i] = api.Echo{Backend: r.backend, Method: http.MethodGet, Target: r.rewritten, Proto: "HTTP/1.1"}
		}
		checkClientRoutes(t, proxy, requests, want)
		checkRunsAsUser(t, ctr)
		probes := newClient(t)
		checkStatus(t, probes, admin+healthPath, http.StatusOK)
		checkStatus(t, probes, admin+readyPath, http.StatusOK)

		// A stream held open by the backend is in flight when SIGTERM arrives: proxyd answers
		// /readyz with 503 at once, waits for the stream for --shutdown-timeout, then closes it
		// and exits.
		checkCutOffStream(t, newClient(t), "http://"+proxy, func(t *testing.T) {
			stopWhileProbing(t, ctr, probes, admin)
		})
		checkStoppedCleanly(t, ctr)
	})
}

// buildProxydImage builds proxyd/Dockerfile's prebuilt stage with TestMain's proxyd binary and
// removes the image when the test ends.
func buildProxydImage(t *testing.T) string {
	t.Helper()
	if built.proxydErr != nil {
		t.Fatalf("proxyd did not build: %v", built.proxydErr)
	}
	dir := t.TempDir()
	copyFile(t, filepath.Join("..", "proxyd", "Dockerfile"), filepath.Join(dir, "Dockerfile"), 0o644)
	copyFile(t, built.proxyd, filepath.Join(dir, "bin", "proxyd"), 0o755)
	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()
	image, err := buildImage(ctx, dir, proxydImageRepo, proxydImageTarget)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), removeTimeout)
		defer cancel()
		if err := removeImage(ctx, image); err != nil {
			t.Error(err)
		}
	})
	return image
}

// copyFile copies the file src to dst with the given mode, creating dst's directory.
func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
}

// imageConfig is what proxyd's image must say about how it runs.
type imageConfig struct {
	User         string
	ExposedPorts []string
	Entrypoint   []string
	Cmd          []string
	StopSignal   string
	Healthcheck  bool
	// Layers counts the filesystem layers: one, the binary, on scratch.
	Layers int
}

// checkImageConfig checks that the image runs /proxyd as the non-root user, exposes the proxy
// and admin ports, has no health check (the admin listener is probed instead) and holds nothing
// but the binary.
func checkImageConfig(t *testing.T, image string) {
	provider, err := dockerProvider()
	if err != nil {
		t.Fatal(err)
	}
	defer provider.Close()
	inspect, err := provider.Client().ImageInspect(t.Context(), image)
	if err != nil {
		t.Fatalf("inspecting image %s: %v", image, err)
	}
	cfg := inspect.Config
	got := imageConfig{
		User:        cfg.User,
		Entrypoint:  cfg.Entrypoint,
		Cmd:         cfg.Cmd,
		StopSignal:  cfg.StopSignal,
		Healthcheck: cfg.Healthcheck != nil,
		Layers:      len(inspect.RootFS.Layers),
	}
	for p := range cfg.ExposedPorts {
		got.ExposedPorts = append(got.ExposedPorts, p)
	}
	slices.Sort(got.ExposedPorts)
	want := imageConfig{
		User:         proxydUser,
		ExposedPorts: []string{"8080/tcp", "9090/tcp"},
		Entrypoint:   []string{"/proxyd"},
		StopSignal:   "SIGTERM",
		Layers:       1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("image %s config differs (-want +got):\n%s", image, diff)
	}
}

// checkContainerVersion runs `proxyd --version` in a container and checks that it exits 0 and
// prints the commit (or "unknown" for a binary built without version control information) and
// the Go version recorded in the binary.
func checkContainerVersion(t *testing.T, image string, nw *testcontainers.DockerNetwork) {
	info, err := buildinfo.ReadFile(built.proxyd)
	if err != nil {
		t.Fatalf("build information of %s: %v", built.proxyd, err)
	}
	commit := "commit unknown"
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			commit = "commit " + s.Value
		}
	}
	ctr := runProxydContainer(t, image, nw, wait.ForExit().WithExitTimeout(containerTimeout), "--version")
	state, err := ctr.State(t.Context())
	if err != nil {
		t.Fatalf("state of the --version container: %v", err)
	}
	out := strings.TrimSpace(containerLog(t, ctr))
	if state.ExitCode != 0 {
		t.Errorf("proxyd --version exited with status %d, want 0; output %q", state.ExitCode, out)
	}
	lines := strings.Split(out, "\n")
	if len(lines) != 1 || !strings.HasPrefix(out, "proxyd ") || !strings.Contains(out, commit) || !strings.Contains(out, info.GoVersion) {
		t.Errorf("proxyd --version printed %q; want one line \"proxyd …\" with %q and %q", out, commit, info.GoVersion)
	}
}

// startNetworkBackend starts an http1 backend container on nw, reached by proxyd at its name,
// which is also its network alias and the name in its echoes.
func startNetworkBackend(t *testing.T, nw *testcontainers.DockerNetwork, name string) *backend {
	t.Helper()
	return runBackend(t, api.ModeHTTP1, name, ":"+backendPort, net.JoinHostPort(name, backendPort),
		network.WithNetwork([]string{name}, nw))
}

// runProxydContainer runs image with args on nw under the name "proxyd", publishes the proxy and
// admin ports on the host's loopback at free ports, waits for ready and removes the container when
// the test ends.
func runProxydContainer(t *testing.T, image string, nw *testcontainers.DockerNetwork, ready wait.Strategy, args ...string) *testcontainers.DockerContainer {
	t.Helper()
	ports := []mobynet.Port{mobynet.MustParsePort(proxydPort + "/tcp"), mobynet.MustParsePort(adminPort + "/tcp")}
	ctx, cancel := context.WithTimeout(t.Context(), containerTimeout)
	defer cancel()
	ctr, err := testcontainers.Run(ctx, image,
		testcontainers.WithLogger(log.TestLogger(t)),
		testcontainers.WithCmd(args...),
		// Only on loopback: testcontainers would publish every EXPOSEd port on all of the host's
		// addresses.
		testcontainers.WithExposedPorts(ports[0].String(), ports[1].String()),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			hc.PortBindings = make(mobynet.PortMap)
			for _, p := range ports {
				hc.PortBindings[p] = []mobynet.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1")}}
			}
		}),
		testcontainers.WithWaitStrategy(ready),
		network.WithNetwork([]string{"proxyd"}, nw),
	)
	t.Cleanup(func() { terminateContainer(t, ctr, "proxyd container") })
	if err != nil {
		t.Fatalf("running %s %q: %v", image, args, err)
	}
	return ctr
}

// publishedAddr returns the loopback address on the host where ctr's port is published.
func publishedAddr(t *testing.T, ctr *testcontainers.DockerContainer, port string) string {
	t.Helper()
	published, err := ctr.MappedPort(t.Context(), port+"/tcp")
	if err != nil {
		t.Fatalf("published port of proxyd's container for %s: %v", port, err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(int(published.Num())))
}

// checkStatus sends a GET for url and checks the response status.
func checkStatus(t *testing.T, c *http.Client, url string, want int) {
	t.Helper()
	if resp, body := get(t, c, url); resp.StatusCode != want {
		t.Errorf("GET %s: status %d, want %d; body %q", url, resp.StatusCode, want, body)
	}
}

// probe sends a GET for url and returns the status text of the answer, or the error.
func probe(c *http.Client, url string) string {
	resp, err := c.Get(url)
	if err != nil {
		return err.Error()
	}
	resp.Body.Close()
	return http.StatusText(resp.StatusCode)
}

// stopWhileProbing runs `docker stop` on ctr and, while proxyd drains, waits until its admin
// listener answers /readyz with 503 (the Kubernetes readiness probe fails) and checks that
// /healthz still answers 200 (the liveness probe does not restart a draining pod). It returns
// once the container has exited.
func stopWhileProbing(t *testing.T, ctr *testcontainers.DockerContainer, c *http.Client, admin string) {
	t.Helper()
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), containerTimeout)
		defer cancel()
		grace := stopGrace
		stopped <- ctr.Stop(ctx, &grace)
	}()
	poll := time.NewTicker(probeInterval)
	defer poll.Stop()
	for {
		answer := probe(c, admin+readyPath)
		if answer == http.StatusText(http.StatusServiceUnavailable) {
			break
		}
		select {
		case err := <-stopped:
			t.Fatalf("proxyd's container stopped (%v) and /readyz last answered %q; want 503 during the drain", err, answer)
		case <-poll.C:
		}
	}
	checkStatus(t, c, admin+healthPath, http.StatusOK)
	if err := <-stopped; err != nil {
		t.Fatalf("stopping proxyd's container: %v", err)
	}
}

// checkRunsAsUser checks that the container is configured to run as proxydUser and that its
// process does: the real, effective, saved and file-system IDs in /proc/PID/status on the host.
func checkRunsAsUser(t *testing.T, ctr *testcontainers.DockerContainer) {
	t.Helper()
	inspect, err := ctr.Inspect(t.Context())
	if err != nil {
		t.Fatalf("inspecting proxyd's container: %v", err)
	}
	if inspect.Config.User != proxydUser {
		t.Errorf("proxyd's container runs as user %q, want %q", inspect.Config.User, proxydUser)
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(inspect.State.Pid) + "/status")
	if err != nil {
		t.Fatalf("status of proxyd's process: %v", err)
	}
	uid, gid, _ := strings.Cut(proxydUser, ":")
	want := map[string]string{"Uid:": strings.Repeat("\t"+uid, 4), "Gid:": strings.Repeat("\t"+gid, 4)}
	got := make(map[string]string)
	for line := range strings.Lines(string(status)) {
		if key, ids, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t"); ok && want[key] != "" {
			got[key] = "\t" + ids
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("proxyd's process IDs differ (-want +got):\n%s", diff)
	}
}

// checkStoppedCleanly checks that the stopped proxyd container exited with status 0, by itself
// (a SIGKILL after docker stop's grace would be 137), and logged its shutdown in order: the
// signal, the end of the grace period with the held stream closed, and the stop.
func checkStoppedCleanly(t *testing.T, ctr *testcontainers.DockerContainer) {
	t.Helper()
	state, err := ctr.State(t.Context())
	if err != nil {
		t.Fatalf("state of proxyd's container: %v", err)
	}
	if state.Running || state.ExitCode != 0 || state.OOMKilled {
		t.Errorf("proxyd's container after docker stop: running %v, exit status %d, OOM-killed %v; want exited with status 0",
			state.Running, state.ExitCode, state.OOMKilled)
	}
	want := []string{"listening", "shutting down", "grace period over, closed remaining connections", "stopped"}
	var got []string
	sc := bufio.NewScanner(strings.NewReader(containerLog(t, ctr)))
	for sc.Scan() {
		var line struct {
			Msg string `json:"msg"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("proxyd logged a line that is not JSON: %q: %v", sc.Bytes(), err)
			continue
		}
		if slices.Contains(want, line.Msg) {
			got = append(got, line.Msg)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("proxyd's shutdown log differs (-want +got):\n%s", diff)
	}
}

// containerLog returns ctr's whole log, stdout and stderr.
func containerLog(t *testing.T, ctr *testcontainers.DockerContainer) string {
	t.Helper()
	logs, err := ctr.Logs(t.Context())
	if err != nil {
		t.Fatalf("log of proxyd's container: %v", err)
	}
	defer logs.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(logs, maxLogBytes)); err != nil {
		t.Fatalf("reading the log of proxyd's container: %v", err)
	}
	return buf.String()
}
