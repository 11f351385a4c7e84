// Package bufpool hands out fixed-size byte buffers for reading heads and relaying bytes, so that a
// connection holds a buffer only while it has something to read.
package bufpool

import "sync"

// Size is the length of every pooled buffer: room for a typical request or response head and the
// start of its body.
const Size = 16 << 10

// Pool is a pool of Size-byte buffers. The zero value is ready to use.
type Pool struct {
	p sync.Pool
}

// Get returns a buffer of length Size.
func (p *Pool) Get() []byte {
	if b, ok := p.p.Get().(*[Size]byte); ok {
		return b[:]
	}
	return new([Size]byte)[:]
}

// Put returns b to the pool. Buffers of another length (grown for a large head) are dropped.
func (p *Pool) Put(b []byte) {
	if cap(b) != Size {
		return
	}
	p.p.Put((*[Size]byte)(b[:Size]))
}
