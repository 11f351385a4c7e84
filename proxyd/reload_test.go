package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitLimit bounds every wait for the process.
const waitLimit = 10 * time.Second

// process is a running proxyd whose stderr lines the test reads.
type process struct {
	cmd   *exec.Cmd
	lines chan string
	addr  string
	read  []string // the lines waitLine has read so far
}

// startProcess runs bin with args (LISTEN_ADDRESS first) and waits for its "listening" line.
// Cleanup stops it with SIGTERM and expects exit status 0.
func startProcess(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	p := launch(t, bin, args...)
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.wait(); err != nil {
			t.Errorf("proxyd exited with %v, want status 0", err)
		}
	})
	p.addr = lineAddr(t, p.waitLine(t, "msg=listening"))
	return p
}

// launch runs bin with args and reads its stderr lines into p.lines until it closes.
func launch(t *testing.T, bin string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, lines: make(chan string, 1024)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	return p
}

// wait drains the lines not yet read, so the process never blocks on a full pipe, and returns how
// it exited.
func (p *process) wait() error {
	for range p.lines {
	}
	return p.cmd.Wait()
}

// lineAddr returns the addr= attribute of a log line.
func lineAddr(t *testing.T, line string) string {
	t.Helper()
	return lineAttr(t, line, "addr")
}

// lineAttr returns the value of attribute key in a log line, which must have it.
func lineAttr(t *testing.T, line, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?:^| )` + regexp.QuoteMeta(key) + `=(\S+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no %s= in %q", key, line)
	}
	return m[1]
}

// waitLine returns the next stderr line containing want; it fails the test after waitLimit or when
// the process ends first.
func (p *process) waitLine(t *testing.T, want string) string {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("proxyd ended before logging %q", want)
			}
			p.read = append(p.read, line)
			if strings.Contains(line, want) {
				return line
			}
		case <-timeout:
			t.Fatalf("proxyd did not log %q within %s", want, waitLimit)
		}
	}
}

// namedBackend answers every request with its name.
func namedBackend(t *testing.T, name string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, name) }))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestReloadOnSIGHUP changes the routes file under a running proxyd: after SIGHUP a request on a
// keep-alive connection opened before it is routed with the new routes; a file that does not
// parse is reported line by line and leaves the routes as they were.
func TestReloadOnSIGHUP(t *testing.T) {
	bin := buildProxyd(t)
	def, one, two := namedBackend(t, "default"), namedBackend(t, "one"), namedBackend(t, "two")
	file := filepath.Join(t.TempDir(), "routes")
	write := func(content string) {
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("/svc=" + one + "\n")
	p := startProcess(t, bin, "127.0.0.1:0", def, "--routes-file", file)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	get := func(path string) string {
		t.Helper()
		resp, err := client.Get("http://" + p.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	if got := get("/svc/x"); got != "one" {
		t.Fatalf("before reload: /svc/x reached %q, want one", got)
	}

	write("# moved\n/svc=" + two + "\n/new=" + one + "\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLine(t, "routes reloaded")
	for path, want := range map[string]string{"/svc/x": "two", "/new": "one", "/other": "default"} {
		if got := get(path); got != want {
			t.Errorf("after reload: %s reached %q, want %q", path, got, want)
		}
	}

	write("/svc=" + one + "\nbad\n/x=127.0.0.1:0\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	for _, n := range []int{2, 3} {
		line := p.waitLine(t, "routes not reloaded")
		if !strings.Contains(line, fmt.Sprintf("routes:%d:", n)) {
			t.Errorf("error line %q does not name line %d", line, n)
		}
	}
	if got := get("/svc/x"); got != "two" {
		t.Errorf("after a failed reload: /svc/x reached %q, want two (the routes as they were)", got)
	}
}

// TestCheck validates the arguments and the routes file without listening.
func TestCheck(t *testing.T) {
	bin := buildProxyd(t)
	file := filepath.Join(t.TempDir(), "routes")
	os.WriteFile(file, []byte("/a=127.0.0.1:1\n"), 0o600)
	out, err := exec.Command(bin, "127.0.0.1:1", "127.0.0.1:2", "--routes-file", file, "--check").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "configuration valid") {
		t.Errorf("--check on a valid file: %v, output %q", err, out)
	}
	os.WriteFile(file, []byte("/a=127.0.0.1:1\n/a=127.0.0.1:3\n"), 0o600)
	out, err = exec.Command(bin, "127.0.0.1:1", "127.0.0.1:2", "--routes-file", file, "--check").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "routes:2: duplicate route") {
		t.Errorf("--check on a bad file: %v, output %q; want exit status 2 naming line 2", err, out)
	}
}
