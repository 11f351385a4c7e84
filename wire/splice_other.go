//go:build !linux

package wire

import (
	"io"
	"syscall"
)

// splice reports that this platform has no splice(2): the relays copy through the Reader's buffer.
func splice(io.Writer, io.Reader, int64, bool, *Progress, *PipeBudget) (written int64, handled bool, err error) {
	return 0, false, nil
}

// setLowat does nothing where bodies are not spliced: no batcher is ever started.
func setLowat(syscall.RawConn, int) error { return nil }
