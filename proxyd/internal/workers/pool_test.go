package workers

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"proxyd.dev/proxyd/internal/h2/h2test"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitLimit bounds every wait of the tests.
const waitLimit = 5 * time.Second

// testMaxIdle is the tests' pools' bound on idle workers.
const testMaxIdle = 8

// newCallPool returns a pool whose calls are functions, closed when the test ends.
func newCallPool(t *testing.T) *Pool[func()] {
	p := New(func(f func()) { f() }, testMaxIdle)
	t.Cleanup(p.Close)
	return p
}

// idleWorkers returns the channels of p's idle workers.
func idleWorkers(p *Pool[func()]) []chan func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]chan func(){}, p.idle...)
}

// waitIdle waits until n workers of p are idle, and returns their channels.
func waitIdle(t *testing.T, p *Pool[func()], n int) []chan func() {
	t.Helper()
	h2test.Eventually(t, waitLimit, "idle workers", func() bool { return len(idleWorkers(p)) == n })
	return idleWorkers(p)
}

// runBlocked runs n calls that each hold their worker until release is closed, and returns once
// all n run.
func runBlocked(p *Pool[func()], n int, release chan struct{}) {
	var started sync.WaitGroup
	started.Add(n)
	for range n {
		p.Run(func() {
			started.Done()
			<-release
		})
	}
	started.Wait()
}

// TestWorkerReused checks that a call after another that ended runs on the same worker.
func TestWorkerReused(t *testing.T) {
	p := newCallPool(t)
	var first chan func()
	for i := range 3 {
		done := make(chan struct{})
		p.Run(func() { close(done) })
		<-done
		idle := waitIdle(t, p, 1)
		if i == 0 {
			first = idle[0]
		} else if idle[0] != first {
			t.Fatalf("call %d ran on another worker", i)
		}
	}
}

// TestWorkersConcurrent checks that concurrent calls each get a worker, so none waits for another.
func TestWorkersConcurrent(t *testing.T) {
	p := newCallPool(t)
	release := make(chan struct{})
	runBlocked(p, 5, release) // returns only once all five run at once
	close(release)
	waitIdle(t, p, 5)
}

// TestWorkersSwept checks that a sweep ends the workers that no call needed since the sweep
// before, the longest idle first, and keeps the others.
func TestWorkersSwept(t *testing.T) {
	p := newCallPool(t)
	release := make(chan struct{})
	runBlocked(p, 3, release)
	close(release)
	idle := waitIdle(t, p, 3)
	p.Sweep() // all three were needed since the pool began
	if got := len(idleWorkers(p)); got != 3 {
		t.Fatalf("after a sweep that followed a burst of 3, %d workers idle; want 3", got)
	}
	done := make(chan struct{})
	p.Run(func() { close(done) }) // takes the most recently idle worker
	<-done
	waitIdle(t, p, 3)
	p.Sweep() // only one of the three was needed
	if got := idleWorkers(p); len(got) != 1 || got[0] != idle[2] {
		t.Fatalf("after a sweep where one worker was needed, idle %v; want only the most recent, %v", got, idle[2])
	}
	p.Sweep() // none was needed
	if got := len(idleWorkers(p)); got != 0 {
		t.Fatalf("after a sweep where none was needed, %d workers idle", got)
	}
	// The workers swept have ended: close waits for every worker, and TestMain finds none left.
}

// TestIdleWorkersBounded checks that no more than the bound wait after a larger burst.
func TestIdleWorkersBounded(t *testing.T) {
	p := newCallPool(t)
	release := make(chan struct{})
	runBlocked(p, testMaxIdle+10, release)
	close(release)
	waitIdle(t, p, testMaxIdle)
}

// TestWorkersClose checks that close ends the idle workers and waits for a running call.
func TestWorkersClose(t *testing.T) {
	p := New(func(f func()) { f() }, testMaxIdle)
	done := make(chan struct{})
	p.Run(func() { close(done) })
	<-done
	waitIdle(t, p, 1)
	release, returned := make(chan struct{}), make(chan struct{})
	var ended atomic.Bool
	var started sync.WaitGroup
	started.Add(1)
	p.Run(func() {
		started.Done()
		<-release
		ended.Store(true)
	})
	started.Wait()
	go func() {
		defer close(returned)
		p.Close()
		if !ended.Load() {
			t.Error("close returned before the running call")
		}
	}()
	h2test.Eventually(t, waitLimit, "close begun", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.closed
	})
	close(release)
	<-returned
	if got := len(idleWorkers(p)); got != 0 {
		t.Errorf("after close, %d workers idle", got)
	}
}
