package main

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestSignalsUntilExit sends SIGTERM without pause from the "listening" line until the process has
// exited: every one of them, also those that come while it closes its listeners and returns from
// main, must find the signal caught, so that the process exits 0 rather than being killed by one;
// and a shutdown that begins before the accept loop has started must end it too.
func TestSignalsUntilExit(t *testing.T) {
	bin := buildProxyd(t)
	for range 5 {
		p := launch(t, bin, "127.0.0.1:0", "127.0.0.1:1")
		p.waitLine(t, "msg=listening")
		signalled, err := terminateUntilExit(t, p)
		if err != nil {
			t.Fatalf("after %d SIGTERMs proxyd exited with %v, want status 0", signalled, err)
		}
	}
}

// terminateUntilExit sends p SIGTERM after SIGTERM until it has exited; it returns how many it sent
// and how the process exited. It kills a process still there after waitLimit and fails the test.
func terminateUntilExit(t *testing.T, p *process) (int, error) {
	t.Helper()
	exited := make(chan error, 1)
	go func() { exited <- p.wait() }()
	limit := time.After(waitLimit)
	for signalled := 0; ; signalled++ {
		select {
		case err := <-exited:
			return signalled, err
		case <-limit:
			p.cmd.Process.Kill()
			t.Fatalf("proxyd did not exit within %s of the first of %d SIGTERMs", waitLimit, signalled)
		default:
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
	}
}
