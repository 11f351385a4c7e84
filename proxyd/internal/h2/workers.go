package h2

import "sync"

// maxIdleWorkers bounds the workers that wait for a stream: a burst of more concurrent streams
// leaves no more than these behind.
const maxIdleWorkers = 256

// workerPool runs calls of do on goroutines that it keeps between calls. A stream's handler needs
// a deeper stack than a goroutine starts with, and a new goroutine grows its stack, copying it, on
// every stream; a worker's stack has grown already. A worker that ends a call waits for the next
// (up to maxIdleWorkers wait), until a sweep finds that no call needed it since the sweep before,
// or the pool closes. Its methods are safe for concurrent use.
type workerPool[T any] struct {
	do func(T)

	mu   sync.Mutex
	idle []chan T // each idle worker's channel; the longest idle first
	// fewest is the fewest workers idle at once since the last sweep: as many were not needed.
	fewest  int
	closed  bool
	running sync.WaitGroup // every worker
}

// run calls do(arg) on an idle worker, or on a new one when none is idle.
func (p *workerPool[T]) run(arg T) {
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

// work is one worker: it calls do with arg, then with what run hands it while idle, until it
// is told to end or finds no room to idle.
func (p *workerPool[T]) work(arg T) {
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
func (p *workerPool[T]) park(work chan T) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.idle) >= maxIdleWorkers {
		return false
	}
	p.idle = append(p.idle, work)
	return true
}

// sweep ends the workers that were not needed since the last sweep: the longest idle ones, as
// many as were idle at the fewest. Its owner calls it every upstream.SweepEvery.
func (p *workerPool[T]) sweep() {
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

// close ends the idle workers, and every other one once its call returns, and waits for them
// all. It may be called again; run must not be called after it.
func (p *workerPool[T]) close() {
	p.mu.Lock()
	p.closed = true
	for _, work := range p.idle {
		close(work)
	}
	p.idle = nil
	p.mu.Unlock()
	p.running.Wait()
}
