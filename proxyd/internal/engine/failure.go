package engine

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"proxyd.dev/proxyd/internal/upstream"
	"proxyd.dev/wire"
)

// statusClientClosed is logged for a client that went away before its response was complete.
const statusClientClosed = 499

// Bounds of the lingering close after an error answer.
const (
	lingerTimeout = 2 * time.Second
	lingerBytes   = 256 << 10
)

// errUnaskedUpgrade is a backend switching protocols on a request that did not ask for it.
var errUnaskedUpgrade = errors.New("backend answered 101 to a request without an upgrade")

// answer writes one of the proxy's own responses: a short text body with a correct Content-Length
// (none sent for HEAD), and "Connection: close" when the connection closes after it.
func (c *clientConn) answer(status int, closing, headOnly bool) {
	body := fmt.Sprintf("%d %s\n", status, http.StatusText(status))
	msg := fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n", status, http.StatusText(status), len(body))
	if closing {
		msg = append(msg, "Connection: close\r\n"...)
		c.linger = true
	}
	msg = append(msg, "\r\n"...)
	if !headOnly {
		msg = append(msg, body...)
	}
	c.conn.SetWriteDeadline(time.Now().Add(c.srv.cfg.HeaderTimeout))
	c.conn.Write(msg)
}

// lingerClose half-closes the connection and reads what the client still sends, for a bounded time
// and amount, so that the client reads the answer before the connection goes away.
func (c *clientConn) lingerClose() {
	if c.conn.CloseWrite() != nil {
		return
	}
	c.conn.SetReadDeadline(time.Now().Add(lingerTimeout))
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
	return c.ex.head.Body.Kind == wire.BodyNone && !c.ex.x.clientClose && !c.srv.shutting.Load()
}

// refuse answers a request the proxy will not forward (400) and logs why.
func (c *clientConn) refuse(x *exchangeState, status int, why string, err error) bool {
	x.status = status
	c.answer(status, true, x.headOnly)
	c.logFailure(x, why, err)
	return false
}

// failDial answers a request whose backend could not be reached: 504 when the dial timed out,
// else 502.
func (c *clientConn) failDial(x *exchangeState, err error) bool {
	x.status = 502
	if isTimeout(err) {
		x.status = 504
	}
	keep := c.keepAfterAnswer()
	c.answer(x.status, !keep, x.headOnly)
	c.logFailure(x, "backend unreachable", err)
	return keep
}

// failResponse ends an exchange that failed before a final response head reached the client: 504
// for the response-header timeout, 502 when the backend broke or answered nonsense, 499 when the
// client went away meanwhile.
func (c *clientConn) failResponse(x *exchangeState, b *upstream.Conn, copier *requestBodyCopier, err error) bool {
	var bodyErr error
	if copier != nil {
		bodyErr = copier.stop()
	}
	c.dropBackend(b)
	var we *wire.Error
	switch {
	case isWriteErr(err) || (bodyErr != nil && !isWriteErr(bodyErr) && !errors.Is(bodyErr, errCopierStopped)):
		x.status = statusClientClosed
		if bodyErr != nil {
			err = bodyErr
		}
		c.logFailure(x, "client went away before the response", err)
		return false
	case isTimeout(err):
		x.status = 504
	case errors.As(err, &we), errors.Is(err, errHeadTooLarge):
		x.status = 502
		err = fmt.Errorf("invalid response head: %w", err)
	default:
		x.status = 502
	}
	keep := copier == nil && c.keepAfterAnswer()
	if !x.interimSent {
		c.answer(x.status, !keep, x.headOnly)
	} else {
		keep = false // a final response cannot follow a 1xx the client already has
	}
	c.logFailure(x, "backend failed before the response head", err)
	return keep
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

func isWriteErr(err error) bool {
	var we *wire.WriteError
	return errors.As(err, &we)
}
