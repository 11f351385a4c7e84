// Package backendset keeps one object per backend address (a connection pool, a transport) across
// route tables: when the routes are reloaded, a backend that stays keeps its object, and so its
// idle connections; a new one gets a new object; one that is gone is retired.
package backendset

import (
	"iter"
	"sync"
)

// Set holds the objects of the backends of the current route table, by address. Its methods are
// safe for concurrent use.
type Set[B any] struct {
	open   func(addr string) B
	retire func(B)

	mu     sync.Mutex
	byAddr map[string]B
}

// New returns an empty set that makes the object of a new backend with open and hands the object of
// a backend no longer routed to retire (which closes its idle connections and lets the busy ones
// close when they are given back).
func New[B any](open func(addr string) B, retire func(B)) *Set[B] {
	return &Set[B]{open: open, retire: retire, byAddr: make(map[string]B)}
}

// Use makes addrs the set's backends and returns their objects in the order of addrs: the objects
// of addresses already in the set are kept, new ones are opened, and those of addresses not in
// addrs are retired.
func (s *Set[B]) Use(addrs []string) []B {
	s.mu.Lock()
	next := make(map[string]B, len(addrs))
	objs := make([]B, len(addrs))
	for i, addr := range addrs {
		b, ok := next[addr]
		if !ok {
			if b, ok = s.byAddr[addr]; !ok {
				b = s.open(addr)
			}
			next[addr] = b
		}
		objs[i] = b
	}
	var gone []B
	for addr, b := range s.byAddr {
		if _, kept := next[addr]; !kept {
			gone = append(gone, b)
		}
	}
	s.byAddr = next
	s.mu.Unlock()
	for _, b := range gone {
		s.retire(b)
	}
	return objs
}

// Get returns the object of the backend at addr, opening it when the set has none; an address that
// the last Use left out is retired by the next Use, or by Close.
func (s *Set[B]) Get(addr string) B {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.byAddr[addr]
	if !ok {
		b = s.open(addr)
		s.byAddr[addr] = b
	}
	return b
}

// All yields every backend's address and object, in no particular order. The set does not change
// while it yields.
func (s *Set[B]) All() iter.Seq2[string, B] {
	return func(yield func(string, B) bool) {
		s.mu.Lock()
		defer s.mu.Unlock()
		for addr, b := range s.byAddr {
			if !yield(addr, b) {
				return
			}
		}
	}
}

// Close retires every backend and empties the set.
func (s *Set[B]) Close() { s.Use(nil) }
