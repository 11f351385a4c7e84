package engine

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/proxyd/internal/reply"
	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/wire"
)

// Bounds of the lingering close after an error answer.
const (
	lingerTimeout = 2 * time.Second
	lingerBytes   = 256 << 10
)

var (
	// errUnaskedUpgrade is a backend switching protocols on a request that did not ask for it.
	errUnaskedUpgrade = errors.New("backend answered 101 to a request without an upgrade")
	// errCodedForHTTP10 is a body in a transfer coding other than chunked, for an HTTP/1.0 client,
	// which can read none (RFC 9112 §6.1).
	errCodedForHTTP10 = errors.New("backend answered an HTTP/1.0 request in a transfer coding other than chunked")
)

// answer writes one of the proxy's own responses: a short text body with a correct Content-Length
// (none sent for HEAD), "Allow" for 405, and "Connection: close" when the connection closes after
// it.
func (c *clientConn) answer(status int, closing, headOnly bool) {
	body := reply.Body(status)
	msg := fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n", status, http.StatusText(status), len(body))
	if status == http.StatusMethodNotAllowed {
		msg = append(msg, "Allow: "+reply.AllowedMethods+"\r\n"...)
	}
	if closing {
		msg = append(msg, "Connection: close\r\n"...)
		c.linger = true
	}
	msg = append(msg, "\r\n"...)
	if !headOnly {
		msg = append(msg, body...)
	}
	c.life.enter(phaseWrite)
	c.conn.Write(msg)
}

// lingerClose half-closes the connection and reads what the client still sends, for a bounded time
// and amount, so that the client reads the answer before the connection goes away.
func (c *clientConn) lingerClose() {
	c.life.enter(phaseLinger)
	if c.conn.CloseWrite() != nil {
		return
	}
	buf := c.srv.bufs.Get()
	defer c.srv.bufs.Put(buf)
	for read := 0; read < lingerBytes; {
		n, err := c.conn.Read(buf)
		read += n
		if err != nil {
			return
		}
	}
}

// keepAfterAnswer reports whether the connection can carry another request after the proxy answered
// this one itself: only when no request body is left unread.
func (c *clientConn) keepAfterAnswer() bool {
	return c.ex.head.Body.Kind == wire.BodyNone && !c.ex.clientClose && !c.srv.shutting.Load()
}

// refuse answers a request the proxy will not forward (400, 405), closes and logs why.
func (c *clientConn) refuse(r refusal) bool {
	c.ex.status = r.status
	c.answer(r.status, true, c.ex.headOnly)
	c.logFailure(r.why, r.err)
	return false
}

// failDial answers a request whose backend could not be reached: 504 when the dial timed out,
// else 502.
func (c *clientConn) failDial(err error) bool {
	ex := c.ex
	cause := metrics.DialFailed
	if isDialTimeout(err) {
		cause = metrics.DialTimeout
	}
	ex.status = cause.Code()
	ex.backendStats.Failed(cause)
	keep := c.keepAfterAnswer()
	c.answer(ex.status, !keep, ex.headOnly)
	c.logFailure("backend unreachable", err)
	return keep
}

// failResponse ends an exchange that failed with err before a final response head reached the
// client, answering unless an interim response already went out or the client is gone.
func (c *clientConn) failResponse(b *upstream.Conn, err error) bool {
	ex := c.ex
	f := c.failure(err)
	c.dropBackend(b)
	ex.status = f.status
	if f.backendFault {
		ex.backendStats.Failed(f.cause)
	}
	keep := false
	switch {
	case f.status == reply.StatusClientClosed:
	case ex.interimSent: // a final response cannot follow a 1xx the client already has
	default:
		keep = ex.copier == nil && f.status >= 500 && c.keepAfterAnswer()
		c.answer(f.status, !keep, ex.headOnly)
	}
	c.logFailure(f.why, f.err)
	return keep
}

// bodyFailed logs an exchange whose response body could not be relayed to its end: the client's
// fault (499) or the backend's (the status stays the backend's).
func (c *clientConn) bodyFailed(err error) {
	f := c.failure(err)
	if f.status == reply.StatusClientClosed {
		c.ex.status = reply.StatusClientClosed
		c.logFailure(f.why, f.err)
		return
	}
	c.ex.backendStats.Failed(metrics.BodyFailed)
	c.logFailure("backend failed during the response body", err)
}

// failed is what a failed exchange comes to: the status to answer and log, why, and the error
// that shows it; for the backend's faults, the cause the metrics count.
type failed struct {
	status       int
	why          string
	err          error
	backendFault bool
	cause        metrics.Cause
}

// backendFailed is a failure of the backend: a 502 or 504 answer, the status its cause says.
func backendFailed(cause metrics.Cause, why string, err error) failed {
	return failed{status: cause.Code(), why: why, err: err, backendFault: true, cause: cause}
}

// failure tells who made an exchange fail with err: the lifetime's interrupt says which timeout
// ended it; else the request body copier's own failure; else err, from the backend or, as a
// *wire.WriteError, from the client. It ends the copier, if any.
func (c *clientConn) failure(err error) failed {
	cause := c.life.why()
	var bodyErr error
	cut := false
	if c.ex.copier != nil {
		bodyErr, cut = c.ex.copier.finish()
	}
	switch cause {
	case causeClientGone:
		return failed{status: reply.StatusClientClosed, why: "client went away", err: err}
	case causeClientStalled:
		return failed{status: reply.StatusClientClosed, why: "client stopped reading", err: err}
	case causeUploadStalled:
		return failed{status: 408, why: "request body stalled", err: err}
	case causeBackendStalled:
		return backendFailed(metrics.Stalled, "backend stopped taking the request", err)
	case causeResponseTimeout:
		return backendFailed(metrics.ResponseTimeout, "no response head within the response-header timeout", err)
	}
	if bodyErr != nil && !cut {
		return bodyFailure(bodyErr)
	}
	var we *wire.Error
	switch {
	case isWriteErr(err):
		return failed{status: reply.StatusClientClosed, why: "client went away", err: err}
	case isTimeout(err):
		return backendFailed(metrics.ResponseTimeout, "backend timed out", err)
	case errors.As(err, &we), errors.Is(err, wire.ErrHeadTooLarge), errors.Is(err, errUnaskedUpgrade), errors.Is(err, errCodedForHTTP10):
		return backendFailed(metrics.InvalidResponse, "invalid response head", err)
	}
	return backendFailed(metrics.Closed, "backend failed before the response head", err)
}

// bodyFailure tells why the request body copier failed: a malformed chunked body (400), a backend
// that stopped taking it (502), or a client that went away (499).
func bodyFailure(err error) failed {
	var we *wire.Error
	switch {
	case errors.As(err, &we):
		return failed{status: 400, why: "malformed request body", err: err}
	case isWriteErr(err):
		return backendFailed(metrics.Closed, "backend failed while taking the request body", err)
	}
	return failed{status: reply.StatusClientClosed, why: "client went away during the request body", err: err}
}

// isTimeout reports an I/O error caused by a deadline: the lifetime's interrupt.
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// isDialTimeout reports a dial that ran out of --dial-timeout; net.Dialer reports it as a timeout
// error that is not os.ErrDeadlineExceeded.
func isDialTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isWriteErr(err error) bool {
	var we *wire.WriteError
	return errors.As(err, &we)
}
