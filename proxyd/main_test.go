package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// binDir holds the binary the tests run, built once by TestMain; it is removed after the run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "proxyd-main-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// built builds the binary on the first call and returns its path or the build's failure.
var built = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(binDir, "proxyd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// buildProxyd returns the binary, built once for all the tests; a build that failed fails the test.
func buildProxyd(t *testing.T) string {
	t.Helper()
	bin, err := built()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestExitStatus checks the process-level contract: bad arguments exit 2 with one line on stderr, a
// listen address in use exits 1 with a clear message.
func TestExitStatus(t *testing.T) {
	bin := buildProxyd(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{":8080", "127.0.0.1:1", "-r", "api=127.0.0.1:2"}, 2, `"api=127.0.0.1:2"`},
		{[]string{":8080", "127.0.0.1:1", "-r", "/api=127.0.0.1:2", "-r", "/api=127.0.0.1:3"}, 2, "/api"},
		{[]string{":8080", "nohost"}, 2, "DEFAULT_BACKEND"},
		{[]string{"127.0.0.1"}, 2, "DEFAULT_BACKEND"},
		{[]string{busy.Addr().String(), "127.0.0.1:1"}, 1, "cannot listen on " + busy.Addr().String()},
	} {
		cmd := exec.Command(bin, tc.args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != tc.status {
			t.Errorf("%q: %v, want exit status %d", tc.args, err, tc.status)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
			t.Errorf("%q: stderr %q, want one line containing %q", tc.args, stderr.String(), tc.want)
		}
	}
}
