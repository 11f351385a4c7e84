package engine

import (
	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/wire"
)

// requestBodyCopier streams a request body from the client to the backend while the exchange waits
// for the response head, so that a backend may answer (100 Continue, or early) before the body
// ends. It owns the client's Reader while it runs; the lifetime watches its progress: a body that
// stops arriving, or that the backend stops taking, is interrupted after the idle timeout.
type requestBodyCopier struct {
	c        *clientConn
	b        *upstream.Conn
	framing  wire.Framing
	progress wire.Progress
	sent     int64      // body bytes relayed; written before done receives the result
	done     chan error // receives the copier's result once

	// ended and result keep the result once received; owned by the exchange's goroutine.
	ended  bool
	result error
}

func (rc *requestBodyCopier) run() {
	rc.c.rd.SetProgress(&rc.progress)
	// Through the backend's socket, a wire.TCPSink, as the response is relayed to the client's (the
	// exchange reads the response from it meanwhile: the socket takes one reader and one writer).
	n, err := wire.CopyBody(rc.b.Socket(), &rc.c.rd, rc.framing)
	rc.sent = n
	rc.c.rd.SetProgress(nil)
	rc.c.life.endUpload(err)
	rc.done <- err
}

// wait returns the copier's result once it has ended by itself.
func (rc *requestBodyCopier) wait() error {
	if !rc.ended {
		rc.receive(<-rc.done)
	}
	return rc.result
}

// finish returns the copier's result, first ending it when it still runs because the exchange is
// over: then cut is true and the body was not relayed to its end (unless it ended just then). A
// copier that failed by itself (its failure is the interrupt in force) is waited for, never cut,
// so that its own error, not the stop, says why the exchange ended. Either way the copier has
// ended when finish returns.
func (rc *requestBodyCopier) finish() (err error, cut bool) {
	if rc.ended {
		return rc.result, false
	}
	if rc.c.life.why() == causeUploadEnded {
		rc.receive(<-rc.done)
		return rc.result, false
	}
	select {
	case err := <-rc.done:
		rc.receive(err)
		return err, false
	default:
	}
	rc.c.life.interrupt(causeStop)
	rc.receive(<-rc.done)
	return rc.result, rc.result != nil
}

// receive keeps the copier's result and clears the interrupt its failure caused.
func (rc *requestBodyCopier) receive(err error) {
	rc.ended, rc.result = true, err
	rc.c.ex.received += rc.sent
	rc.c.life.ackUpload()
}
