//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proxydProc is one proxyd process started by a scenario on a free loopback port. Its stderr is
// copied to a log file and kept in memory for the checks that look for log lines.
type proxydProc struct {
	cmd     *exec.Cmd
	pid     int
	addr    string // where it listens, from its "listening" line
	logPath string

	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed and replaced whenever a line arrives or the process ends

	done     chan struct{} // closed when the process has exited
	exitCode int
	exitedAt time.Time
}

// maxKeptLines bounds the log lines kept in memory; the log file has them all.
const maxKeptLines = 100000

// startProxyd starts proxyd listening on 127.0.0.1:0 with the default backend and args, under an
// open-file limit of nofile when it is positive (soft and hard, set by the shell's ulimit before it
// execs proxyd, so the process is proxyd itself), and waits for its "msg=listening" line.
func startProxyd(ctx context.Context, e *env, nofile int, defaultBackend string, args ...string) (*proxydProc, error) {
	argv := append([]string{e.opt.proxyd, "127.0.0.1:0", defaultBackend}, args...)
	if nofile > 0 {
		argv = append([]string{"sh", "-c", `ulimit -n "$0" && exec "$@"`, strconv.Itoa(nofile)}, argv...)
	}
	p := &proxydProc{changed: make(chan struct{}), done: make(chan struct{})}
	p.logPath = filepath.Join(e.opt.logDir, fmt.Sprintf("proxyd-%s-%d.log", e.opt.scenario, e.procs.count()+1))
	logFile, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	// proxyd dies with soak, however soak ends.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p.cmd.Stdout = logFile
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	p.pid = p.cmd.Process.Pid
	e.procs.add(p)
	e.logf("started proxyd pid %d: %s (log %s)", p.pid, strings.Join(argv, " "), p.logPath)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		p.readLog(stderr, logFile)
	}()
	go func() {
		<-copied // Wait closes the pipe: read it to its end first
		err := p.cmd.Wait()
		p.exitedAt = time.Now()
		logFile.Close()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			p.exitCode = ee.ExitCode()
		default:
			p.exitCode = -1
		}
		close(p.done)
		p.notify()
	}()

	line, err := p.waitLine(ctx, "msg=listening", 10*time.Second)
	if err != nil {
		p.kill()
		return nil, fmt.Errorf("proxyd did not start: %v; log:\n%s", err, p.tail(20))
	}
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, "addr="); ok {
			p.addr = v
		}
	}
	if p.addr == "" {
		p.kill()
		return nil, fmt.Errorf("no addr= in proxyd's listening line %q", line)
	}
	return p, nil
}

func (p *proxydProc) readLog(r io.Reader, file io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(file, line)
		p.mu.Lock()
		if len(p.lines) < maxKeptLines {
			p.lines = append(p.lines, line)
		}
		p.notifyLocked()
		p.mu.Unlock()
	}
	io.Copy(file, r) // a line too long for the scanner: keep the rest in the file
}

// notify wakes the waiters for a log line or the exit.
func (p *proxydProc) notify() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.notifyLocked()
}

// notifyLocked is notify with p.mu held.
func (p *proxydProc) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// grep returns the kept log lines that contain s.
func (p *proxydProc) grep(s string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}

// tail returns the last n kept log lines.
func (p *proxydProc) tail(n int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines[max(0, len(p.lines)-n):], "\n")
}

// waitLine waits, at most within, for a log line that contains s and returns the first one.
func (p *proxydProc) waitLine(ctx context.Context, s string, within time.Duration) (string, error) {
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		p.mu.Lock()
		changed := p.changed
		p.mu.Unlock()
		if lines := p.grep(s); len(lines) > 0 {
			return lines[0], nil
		}
		if p.exited() {
			return "", fmt.Errorf("proxyd exited with status %d", p.exitCode)
		}
		select {
		case <-changed:
		case <-timer.C:
			return "", fmt.Errorf("no log line with %q within %s", s, within)
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

func (p *proxydProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stats reads proxyd's descriptors, memory and threads.
func (p *proxydProc) stats() (stats, error) { return readStats(p.pid) }

// sockets sorts proxyd's connections into client and backend ones.
func (p *proxydProc) sockets() (sockets, error) {
	_, port, _ := net.SplitHostPort(p.addr)
	n, _ := strconv.Atoi(port)
	return readSockets(p.pid, n)
}

// terminate sends SIGTERM and waits up to within for the exit. It returns the exit status (-1 when
// proxyd had to be killed) and the time from the signal to the exit.
func (p *proxydProc) terminate(within time.Duration) (int, time.Duration) {
	start := time.Now()
	if !p.exited() {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	code, at := p.waitExit(within)
	return code, at.Sub(start)
}

// waitExit waits up to within for proxyd to exit, and kills it after that. It returns the exit
// status (-1 when it had to be killed) and when it exited.
func (p *proxydProc) waitExit(within time.Duration) (int, time.Time) {
	select {
	case <-p.done:
		return p.exitCode, p.exitedAt
	case <-time.After(within):
		p.kill()
		return -1, p.exitedAt
	}
}

// kill ends the process with SIGKILL, by its PID, and waits for it.
func (p *proxydProc) kill() {
	if !p.exited() {
		p.cmd.Process.Kill()
	}
	<-p.done
}

// procSet is the proxyd processes a run started, so that none outlives it.
type procSet struct {
	mu    sync.Mutex
	procs []*proxydProc
}

func (s *procSet) add(p *proxydProc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.procs = append(s.procs, p)
}

func (s *procSet) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.procs)
}

// killAll kills, by PID, every process still running.
func (s *procSet) killAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.procs {
		p.kill()
	}
}
