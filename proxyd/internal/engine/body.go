package engine

import (
	"errors"
	"net"
	"sync/atomic"
	"time"

	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/wire"
)

// bodySegment is how much of a Content-Length body is relayed under one deadline: the transfer may
// take as long as it needs while each segment arrives within the idle timeout.
const bodySegment = 1 << 20

// copyBody relays a body framed by f from src (reading srcConn) to dst. A Content-Length body is
// relayed segment by segment, each under the idle timeout in both directions, and spliced in the
// kernel where both ends are TCP. Chunked and close-delimited bodies (event streams among them) have
// no deadline: they may pause as long as their sender likes. When stop is set (by another goroutine,
// which then sets past deadlines) no further segment starts.
func copyBody(dst net.Conn, src *wire.Reader, srcConn net.Conn, f wire.Framing, idle time.Duration, stop *atomic.Bool) (int64, error) {
	if f.Kind != wire.BodyLength {
		srcConn.SetReadDeadline(time.Time{})
		dst.SetWriteDeadline(time.Time{})
		if stop != nil && stop.Load() {
			return 0, errCopierStopped
		}
		return wire.CopyBody(dst, src, f)
	}
	var total int64
	for total < f.Length {
		deadline := time.Now().Add(idle)
		srcConn.SetReadDeadline(deadline)
		dst.SetWriteDeadline(deadline)
		// Checked after the deadlines are set: a stop that comes later sets past ones after them.
		if stop != nil && stop.Load() {
			return total, errCopierStopped
		}
		n, err := wire.CopyLength(dst, src, min(f.Length-total, bodySegment))
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// requestBodyCopier streams a request body from the client to the backend while the exchange waits
// for the response head, so that a backend may answer (100 Continue, or early) before the body ends.
type requestBodyCopier struct {
	c       *clientConn
	b       *upstream.Conn
	framing wire.Framing
	done    chan error
	stopped atomic.Bool
}

// longAgo is a deadline in the past: setting it wakes a blocked read at once.
var longAgo = time.Unix(1, 0)

func (rc *requestBodyCopier) run() {
	_, err := copyBody(rc.b, &rc.c.rd, rc.c.conn, rc.framing, rc.c.srv.cfg.IdleTimeout, &rc.stopped)
	switch {
	case err == nil:
		rc.b.SetReadDeadline(time.Now().Add(rc.c.srv.cfg.ResponseHeaderTimeout))
	case !isWriteErr(err):
		// The client failed or left: wake the exchange waiting for the response head.
		rc.b.SetReadDeadline(longAgo)
	}
	rc.done <- err
}

// stop returns the copier's result, first ending it when it is still running (the response is
// over or has failed): then it reports errCopierStopped. It wakes the copier with past deadlines
// rather than by closing either connection: a copier that was only about to report the whole
// body sent still reports success, and both connections stay usable.
func (rc *requestBodyCopier) stop() error {
	select {
	case err := <-rc.done:
		return err
	default:
	}
	rc.stopped.Store(true)
	rc.c.conn.SetReadDeadline(longAgo)
	rc.b.SetWriteDeadline(longAgo)
	if err := <-rc.done; err != nil {
		return errCopierStopped
	}
	return nil
}

// errCopierStopped reports a request body cut short because the exchange ended first.
var errCopierStopped = errors.New("request body not read to its end")
