//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stats is one reading of a process's resources from /proc.
type stats struct {
	fds     int
	rssKiB  int64
	anonKiB int64 // the part of rssKiB that is not a file's pages (proxyd's heap, stacks, buffers)
	threads int
}

func (s stats) String() string {
	return fmt.Sprintf("fds=%d rss=%.1fMiB anon=%.1fMiB threads=%d", s.fds, mib(s.rssKiB), mib(s.anonKiB), s.threads)
}

// readStats counts the open descriptors of process pid (/proc/PID/fd) and reads its resident
// memory, all of it and the anonymous part, and thread count (/proc/PID/status).
func readStats(pid int) (stats, error) {
	var s stats
	names, err := fdNames(pid)
	if err != nil {
		return s, err
	}
	s.fds = len(names)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		key, val, _ := strings.Cut(line, ":")
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		switch key {
		case "VmRSS":
			s.rssKiB, _ = strconv.ParseInt(fields[0], 10, 64)
		case "RssAnon":
			s.anonKiB, _ = strconv.ParseInt(fields[0], 10, 64)
		case "Threads":
			s.threads, _ = strconv.Atoi(fields[0])
		}
	}
	return s, nil
}

// fdNames lists the descriptors process pid has open: the entries of /proc/PID/fd.
func fdNames(pid int) ([]string, error) {
	d, err := os.Open(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// peakSampler reads a process's stats at an interval in the background and keeps each maximum.
type peakSampler struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	peak stats
}

func startPeakSampler(pid int, every time.Duration) *peakSampler {
	p := &peakSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			p.sample(pid)
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// sample reads pid's stats now and folds them into the maxima.
func (p *peakSampler) sample(pid int) {
	s, err := readStats(pid)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.peak = p.peak.max(s)
}

// max returns the larger of s's and o's figures, each on its own.
func (s stats) max(o stats) stats {
	return stats{fds: max(s.fds, o.fds), rssKiB: max(s.rssKiB, o.rssKiB), anonKiB: max(s.anonKiB, o.anonKiB), threads: max(s.threads, o.threads)}
}

// finish stops the sampler and returns the maxima.
func (p *peakSampler) finish() stats {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak
}

// pollUntil calls cond every 250 ms until it reports true or within has passed (or ctx ends). It
// returns how long it polled and whether cond came true.
func pollUntil(ctx context.Context, within time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > within || ctx.Err() != nil {
			return time.Since(start), false
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// waitFDs polls p's statistics until its descriptor count is at most limit or within has passed
// (or ctx ends). It returns the last reading, how long it took and whether the count got there.
func waitFDs(ctx context.Context, p *proxydProc, limit int, within time.Duration) (stats, time.Duration, bool) {
	return waitReading(ctx, p.stats, func(s stats) bool { return s.fds <= limit }, within)
}

// waitClients polls p's sockets until it has at most limit client connections or within has
// passed (or ctx ends). It returns the last reading, how long it took and whether it got there.
func waitClients(ctx context.Context, p *proxydProc, limit int, within time.Duration) (sockets, time.Duration, bool) {
	return waitReading(ctx, p.sockets, func(s sockets) bool { return s.clients <= limit }, within)
}

// waitReading polls read until a reading satisfies done or within has passed (or ctx ends), and
// returns the last reading that succeeded, how long it took and whether done held.
func waitReading[T any](ctx context.Context, read func() (T, error), done func(T) bool, within time.Duration) (T, time.Duration, bool) {
	var last T
	took, ok := pollUntil(ctx, within, func() bool {
		v, err := read()
		if err != nil {
			return false
		}
		last = v
		return done(v)
	})
	return last, took, ok
}

// sockets is a process's TCP connections by side.
type sockets struct {
	clients    int // accepted: the local port is proxyd's listening port
	backends   int // opened by proxyd: every other connection
	peerClosed int // of all, those the other end has closed (CLOSE_WAIT)
}

func (s sockets) String() string {
	return fmt.Sprintf("client-conns=%d backend-conns=%d (closed by the peer: %d)", s.clients, s.backends, s.peerClosed)
}

// readSockets sorts the TCP connections among process pid's descriptors by side, given its
// listening port: its descriptors name socket inodes, /proc/PID/net/tcp{,6} their ports and state.
func readSockets(pid, listenPort int) (sockets, error) {
	var s sockets
	names, err := fdNames(pid)
	if err != nil {
		return s, err
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	inodes := make(map[string]bool, len(names))
	for _, n := range names {
		link, err := os.Readlink(dir + "/" + n)
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	for _, table := range []string{"tcp", "tcp6"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			return s, err
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			f := strings.Fields(line)
			if len(f) < 10 || !inodes[f[9]] || f[3] == tcpListen {
				continue
			}
			if f[3] == tcpCloseWait {
				s.peerClosed++
			}
			_, portHex, _ := strings.Cut(f[1], ":")
			if port, _ := strconv.ParseInt(portHex, 16, 32); int(port) == listenPort {
				s.clients++
			} else {
				s.backends++
			}
		}
	}
	return s, nil
}

// States in /proc/net/tcp.
const (
	tcpListen    = "0A"
	tcpCloseWait = "08"
)

// cpuTicks is the user and system CPU time process pid has used, in clock ticks (1/100 s).
func cpuTicks(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in parentheses may hold spaces: count fields after its closing one.
	_, rest, _ := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime, nil
}

// openFileLimit reads the soft open-file limit of process pid from /proc/PID/limits.
func openFileLimit(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Max open files"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, fmt.Errorf("no open-file limit in /proc/%d/limits", pid)
}

// listenDrops reads the system's count of connection attempts dropped at a listening socket
// (TcpExt ListenDrops in /proc/net/netstat, which counts the full accept queues too): a loopback
// dial dropped there is retried by the kernel and may time out.
func listenDrops() (int64, error) {
	data, err := os.ReadFile("/proc/net/netstat")
	if err != nil {
		return 0, err
	}
	lines := strings.Split(string(data), "\n")
	for i := 0; i+1 < len(lines); i++ {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) == 0 || names[0] != "TcpExt:" || len(values) != len(names) {
			continue
		}
		for j, n := range names {
			if n == "ListenDrops" {
				return strconv.ParseInt(values[j], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no TcpExt ListenDrops in /proc/net/netstat")
}
