//go:build !linux

package main

import "syscall"

// deferAccept does nothing where the system has no TCP_DEFER_ACCEPT: connections are accepted as
// soon as they are established.
func deferAccept(_, _ string, _ syscall.RawConn) error { return nil }
