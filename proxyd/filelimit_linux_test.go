package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAcceptBacksOffAtTheFileLimit runs proxyd with an open-file limit of 32 (prlimit, from
// util-linux) and holds idle connections until accepting fails with EMFILE: proxyd waits before
// each new try, twice as long as before from 5 ms up to 1 s (logging each wait), rather than
// spinning on the listener; once the held connections close it accepts again and answers the
// request that waited in the listen backlog meanwhile; and SIGTERM ends a wait at once.
func TestAcceptBacksOffAtTheFileLimit(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatalf("prlimit (util-linux) is needed to limit proxyd's open files: %v", err)
	}
	bin := buildProxyd(t)
	backend := namedBackend(t, "default")
	p := launch(t, prlimit, "--nofile=32", "--", bin, "127.0.0.1:0", backend, "--header-timeout=1m")
	t.Cleanup(func() { // after a failure
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.wait()
		}
	})
	p.addr = lineAddr(t, p.waitLine(t, "msg=listening"))
	var held []net.Conn
	closeHeld := func() {
		for _, c := range held {
			c.Close()
		}
		held = nil
	}
	defer closeHeld()
	// hold holds more idle connections than the limit leaves room for.
	hold := func() {
		for range 40 {
			c, err := net.Dial("tcp", p.addr)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, c)
		}
	}
	// failedAccept reads the log line of the next failed accept, which must fail with EMFILE, and
	// returns its back-off and its time.
	failedAccept := func() (string, time.Time) {
		t.Helper()
		line := p.waitLine(t, "accept failed")
		if !strings.Contains(line, "too many open files") {
			t.Fatalf("log line %q, want an accept failing with EMFILE", line)
		}
		at, err := time.Parse(time.RFC3339Nano, lineAttr(t, line, "time"))
		if err != nil {
			t.Fatal(err)
		}
		return lineAttr(t, line, "backoff"), at
	}

	hold()
	var first, last time.Time
	for i, want := range []string{"5ms", "10ms", "20ms", "40ms", "80ms", "160ms", "320ms", "640ms"} {
		backoff, at := failedAccept()
		if backoff != want {
			t.Fatalf("back-off %s after %d failed accepts, want %s", backoff, i, want)
		}
		if i == 0 {
			first = at
		}
		last = at
	}
	if waited, want := last.Sub(first), 635*time.Millisecond; waited < want { // 5 ms + ... + 320 ms
		t.Fatalf("the eighth failed accept came %s after the first, want at least %s", waited, want)
	}
	waiting, err := net.Dial("tcp", p.addr) // into the listen backlog, behind the held ones
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()
	if _, err := io.WriteString(waiting, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	closeHeld()
	waiting.SetDeadline(time.Now().Add(waitLimit))
	resp, err := http.ReadResponse(bufio.NewReader(waiting), nil)
	if err != nil {
		t.Fatalf("no answer once the held connections closed: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || string(body) != "default" {
		t.Fatalf("answer %d %q (%v), want 200 \"default\"", resp.StatusCode, body, err)
	}

	hold()
	for backoff := ""; backoff != "1s"; backoff, _ = failedAccept() {
	}
	signalled := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(); err != nil {
		t.Fatalf("proxyd exited with %v, want status 0", err)
	}
	if took := time.Since(signalled); took > 500*time.Millisecond {
		t.Errorf("proxyd exited %s after SIGTERM came in a back-off of 1s, want under 500ms", took)
	}
	// Spinning on the listener through the 3.5 s of back-offs would take about as much CPU.
	cpu := p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()
	if cpu > 500*time.Millisecond {
		t.Errorf("proxyd used %s of CPU in all, want less than 500ms: it does not back off", cpu)
	}
	t.Logf("proxyd used %s of CPU in all", cpu)
}
