//go:build !linux

package engine

import "errors"

// loops would be ring loops; this system has no io_uring.
type loops struct{}

// loop would be a ring loop.
type loop struct{}

// ringConn would be a connection's state on a ring loop.
type ringConn struct{}

// ringExchange would be an exchange's state on a ring loop.
type ringExchange struct{}

// startLoops reports that this system has no io_uring.
func startLoops(*Server, int) (*loops, error) { return nil, errors.New("io_uring: Linux only") }

func (*loops) engaged() bool               { return false }
func (*loops) admit(*clientConn) bool      { return false }
func (*loops) stop()                       {}
func (*loop) post(*clientConn)             {}
func (c *clientConn) fromLoop() headResult { return headClose }
