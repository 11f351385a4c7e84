package h2

import (
	"io"
	"net/http"
	"time"

	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/proxyd/internal/reply"
)

// relay sends the backend's response on the stream: its head without connection-specific fields,
// its body as it arrives, flushed after every write (event streams and gRPC streaming responses
// reach the client message by message), and its trailers (gRPC's grpc-status among them). A client
// that takes no byte for the idle timeout resets the stream (see writeFlushed). A backend
// that fails in the middle of the body makes the stream end with RST_STREAM rather than look
// complete; a client that goes away is logged 499. rc is the stream's ResponseController.
func (s *Server) relay(st *stream, resp *http.Response, rc *http.ResponseController) {
	h := st.w.Header()
	for k, vv := range resp.Header {
		h[k] = vv
	}
	dropConnectionFields(h)
	st.status = resp.StatusCode
	if st.body != nil {
		st.body.responseStarted()
	}
	out := flushedWriter{w: st.w, rc: rc, idle: s.cfg.IdleTimeout}
	st.w.WriteHeader(resp.StatusCode)
	if err := out.writeFlushed(nil); err != nil {
		s.clientLeft(st, err)
		return
	}
	// Every read of the backend's body is written and flushed to the client at once.
	buf := s.bufs.Get()
	defer s.bufs.Put(buf)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if err := out.writeFlushed(buf[:n]); err != nil {
				s.clientLeft(st, err)
				return
			}
			st.bytes += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if st.r.Context().Err() != nil {
				s.clientLeft(st, rerr)
				return
			}
			st.stats.backend.Failed(metrics.BodyFailed)
			s.logFailure(st, "backend failed during the response body", rerr)
			// Resets the stream (x/net/http2 recovers it); the connection's other streams go on.
			panic(http.ErrAbortHandler)
		}
	}
	for k, vv := range resp.Trailer {
		h[http.TrailerPrefix+k] = vv
	}
	s.logStream(st)
}

// clientLeft logs a stream whose client reset it or went away during the response.
func (s *Server) clientLeft(st *stream, err error) {
	st.status = reply.StatusClientClosed
	s.logFailure(st, "client went away", err)
}

// flushedWriter writes a stream's response and flushes it at once, under a write deadline of the
// idle timeout that is armed only while a write is under way: x/net/http2 resets a stream whose
// deadline passes even while nothing is written, and a backend may pause as long as it likes.
type flushedWriter struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
}

// writeFlushed writes p (nothing: only what is pending, the head) and flushes it; a client that
// takes none of it for the idle timeout gets its stream reset, and the error says so.
func (f flushedWriter) writeFlushed(p []byte) error {
	f.rc.SetWriteDeadline(time.Now().Add(f.idle))
	defer f.rc.SetWriteDeadline(time.Time{})
	if len(p) > 0 {
		if _, err := f.w.Write(p); err != nil {
			return err
		}
	}
	return f.rc.Flush()
}
