package h2

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"

	"golang.org/x/net/http2"

	"proxyd.dev/proxyd/internal/h2upstream"
	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/proxyd/internal/reply"
)

// answer writes one of proxyd's own responses on the stream, as an HTTP/2 response: the status, a
// short text body with its Content-Length (no body for HEAD) and, for 405, an Allow field; and it
// logs why. The connection and its other streams go on.
func (s *Server) answer(st *stream, status int, why string, err error) {
	body := reply.Body(status)
	h := st.w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if status == http.StatusMethodNotAllowed {
		h.Set("Allow", reply.AllowedMethods)
	}
	st.w.WriteHeader(status)
	if st.r.Method != http.MethodHead {
		io.WriteString(st.w, body)
	}
	st.status = status
	s.logFailure(st, why, err)
}

// failed handles a stream whose backend gave no response head: nothing when the client reset the
// stream (logged 499), 408 when its request body stopped arriving for the idle timeout, 400 when it
// cannot be written in HTTP/1.1, the client's stream reset with CANCEL when an h2c backend reset
// it so (logged 502), else 504 when a timeout ended it (the dial's, the response-header timeout,
// or a backend that stopped taking the request body), else 502. The backend's protocol is probed
// again before its next request, but after a CANCEL.
func (s *Server) failed(st *stream, b *backend, err error) {
	if st.clientGone() {
		st.status = reply.StatusClientClosed
		s.logFailure(st, "client reset the stream", err)
		return
	}
	if code, ok := h2upstream.ResetCode(err); ok && code == http2.ErrCodeCancel {
		// The backend gave the stream up, as gRPC servers do once a call's deadline passes: so
		// does the client's stream. A gRPC client then reports its own deadline
		// (DEADLINE_EXCEEDED), not the UNAVAILABLE of a 502.
		cause, _ := backendFailure(err)
		st.status = cause.Code()
		st.stats.backend.Failed(cause)
		s.logFailure(st, "backend cancelled the stream before the response head", err)
		st.w.st.abort(http2.ErrCodeCancel, err)
		return
	}
	if st.body != nil && st.body.stalledOut() {
		s.answer(st, http.StatusRequestTimeout, "request body stalled", err)
		return
	}
	var uf *unforwardableError
	if errors.As(err, &uf) {
		s.answer(st, http.StatusBadRequest, "request not expressible in HTTP/1.1", err)
		return
	}
	b.recheck()
	cause, why := backendFailure(err)
	st.stats.backend.Failed(cause)
	s.answer(st, cause.Code(), why, err)
}

// backendFailure tells why a backend gave no response head: the response-header timeout, a
// backend that stopped taking the request body, a dial that failed or timed out, a response head
// wire refuses or HTTP/2 does not allow, another timeout, or a connection that failed; the cause's
// code is the status to answer.
func backendFailure(err error) (metrics.Cause, string) {
	var rt *ResponseTimeoutError
	var stalled *backendStalledError
	var op *net.OpError
	var invalid *invalidResponseError
	var malformed *h2upstream.MalformedResponseError
	switch {
	case errors.As(err, &rt):
		return metrics.ResponseTimeout, "no response head within the response-header timeout"
	case errors.As(err, &stalled):
		return metrics.Stalled, "backend stopped taking the request body"
	case errors.As(err, &op) && op.Op == "dial" && op.Timeout():
		return metrics.DialTimeout, "backend dial timed out"
	case errors.As(err, &op) && op.Op == "dial":
		return metrics.DialFailed, "backend unreachable"
	case errors.As(err, &invalid), errors.As(err, &malformed):
		return metrics.InvalidResponse, "invalid response head"
	case isTimeout(err):
		return metrics.ResponseTimeout, "backend timed out"
	}
	return metrics.Closed, "backend failed before the response head"
}

// isTimeout reports whether err is a timeout: a dial's, or one of the h2c transport's.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
