// Package workers runs short tasks on goroutines kept between tasks.
//
// A goroutine starts with a small stack and grows it, copying it, as deep calls need; and one that
// allocates while the garbage collector marks pays for marking work at once, having no credit
// yet. A server that starts a goroutine for every connection or stream pays both every time. A
// Pool's goroutines keep their grown stacks and their credit from one task to the next.
package workers

import "sync"

// Pool runs calls of its function on goroutines that it keeps between calls, its workers. A worker
// that ends a call waits for the next, while fewer than its bound wait, until a sweep finds that
// no call needed it since the sweep before, or the pool closes. Its methods are safe for
// concurrent use.
type Pool[T any] struct {
	do      func(T)
	maxIdle int

	mu   sync.Mutex
	idle []chan T // each idle worker's channel; the longest idle first
	// fewest is the fewest workers idle at once since the last sweep: as many were not needed.
	fewest  int
	closed  bool
	running sync.WaitGroup // every worker
}

// New returns a pool that calls do, with at most maxIdle workers waiting for a call.
func New[T any](do func(T), maxIdle int) *Pool[T] {
	return &Pool[T]{do: do, maxIdle: maxIdle}
}

// Run calls do(arg) on an idle worker, or on a new one when none is idle. It does not wait for
// the call.
func (p *Pool[T]) Run(arg T) {
	p.mu.Lock()
	if n := len(p.idle) - 1; n >= 0 {
		work := p.idle[n]
		p.idle = p.idle[:n]
		p.fewest = min(p.fewest, n)
		p.mu.Unlock()
		work <- arg // its buffer's one place is free: a worker is idle only once at a time
		return
	}
	p.fewest = 0
	p.running.Add(1)
	p.mu.Unlock()
	go p.work(arg)
}

// work is one worker: it calls do with arg, then with what Run hands it while idle, until it
// is told to end or finds no room to idle.
func (p *Pool[T]) work(arg T) {
	defer p.running.Done()
	work := make(chan T, 1)
	for {
		p.do(arg)
		var zero T
		arg = zero // the idle worker holds on to nothing
		if !p.park(work) {
			return
		}
		var ok bool
		if arg, ok = <-work; !ok {
			return
		}
	}
}

// park makes the worker of work idle; false when it should end instead.
func (p *Pool[T]) park(work chan T) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idle) >= p.maxIdle {
		return false
	}
	p.idle = append(p.idle, work)
	return true
}

// Sweep ends the workers that were not needed since the last sweep: the longest idle ones, as
// many as were idle at the fewest. Its owner calls it at a steady period, which is how long an
// unneeded worker may wait.
func (p *Pool[T]) Sweep() {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, idle := min(p.fewest, len(p.idle)), len(p.idle)
	for _, work := range p.idle[:n] {
		close(work)
	}
	copy(p.idle, p.idle[n:])
	clear(p.idle[idle-n:]) // the channels moved down are not held twice
	p.idle = p.idle[:idle-n]
	p.fewest = len(p.idle)
}

// Close ends the idle workers, and every other one once its call returns, and waits for them
// all. It may be called again; Run must not be called after it.
func (p *Pool[T]) Close() {
	p.mu.Lock()
	p.closed = true
	for _, work := range p.idle {
		close(work)
	}
	p.idle = nil
	p.mu.Unlock()
	p.running.Wait()
}
