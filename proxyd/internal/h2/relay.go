package h2

import (
	"io"
	"net/http"
	"time"

	"proxyd.dev/proxyd/internal/metrics"
	"proxyd.dev/proxyd/internal/reply"
)

// relay sends the backend's response on the stream: its head without connection-specific fields,
// its body as it arrives, and its trailers (gRPC's grpc-status among them). A body of unknown length
// (event streams, gRPC streaming responses) has its head and every write flushed at once, so it
// reaches the client message by message. A body of known length is flushed after every write but
// the one that completes it: its head leaves with its first bytes, and its last bytes leave with
// END_STREAM when the handler returns, so a small response is one write to the client rather than
// three. A response without a body (http.NoBody: the backend's head ended its stream, as gRPC's
// trailers-only answers do) leaves as its head alone, with END_STREAM, whatever its length says.
// A client that takes no byte for the idle timeout resets the stream (see flushedWriter).
// A backend that fails in the middle of the body makes the stream end with RST_STREAM rather than
// look complete; a client that goes away is logged 499.
func (s *Server) relay(st *stream, resp *http.Response) {
	dropConnectionFields(resp.Header)
	st.w.header = resp.Header // the relay writes the stream's response first and alone
	st.status = resp.StatusCode
	if st.body != nil {
		st.body.responseStarted()
	}
	out := flushedWriter{w: st.w, idle: s.cfg.IdleTimeout}
	st.w.WriteHeader(resp.StatusCode)
	known := resp.ContentLength >= 0
	if !known && resp.Body != http.NoBody {
		if err := out.writeFlushed(nil); err != nil {
			s.clientLeft(st, err)
			return
		}
	}
	buf := s.bufs.Get()
	defer s.bufs.Put(buf)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			write := out.writeFlushed
			if known && st.bytes+int64(n) == resp.ContentLength {
				write = out.writeLast
			}
			if err := write(buf[:n]); err != nil {
				s.clientLeft(st, err)
				return
			}
			st.bytes += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if st.clientGone() {
				s.clientLeft(st, rerr)
				return
			}
			st.stats.backend.Failed(metrics.BodyFailed)
			s.logFailure(st, "backend failed during the response body", rerr)
			// Resets the stream (runHandler recovers it); the connection's other streams go on.
			panic(http.ErrAbortHandler)
		}
	}
	if st.bytes == 0 && (known || resp.Body == http.NoBody) {
		out.arm() // the head alone leaves when the handler returns, under the deadline
	}
	st.w.trailer = resp.Trailer
	s.logStream(st)
}

// clientLeft logs a stream whose client reset it or went away during the response.
func (s *Server) clientLeft(st *stream, err error) {
	st.status = reply.StatusClientClosed
	s.logFailure(st, "client went away", err)
}

// flushedWriter writes a stream's response under a write deadline of the idle timeout: a client
// that gives no flow-control credit for that long gets its stream reset, and the write's error says
// so. Between flushed writes the deadline is lifted: a backend may pause as long as it likes.
type flushedWriter struct {
	w    *responseWriter
	idle time.Duration
}

// writeFlushed writes p (nothing: only what is pending, the head) and flushes it.
func (f flushedWriter) writeFlushed(p []byte) error {
	f.arm()
	defer f.w.SetWriteDeadline(time.Time{})
	return f.w.flush(p)
}

// writeLast writes the body's last bytes without flushing them: the engine sends what is pending
// with END_STREAM when the handler returns. The deadline stays armed until then; the stream's end
// stops it.
func (f flushedWriter) writeLast(p []byte) error {
	f.arm()
	_, err := f.w.Write(p)
	return err
}

// arm sets the write deadline to the idle timeout from now.
func (f flushedWriter) arm() {
	f.w.SetWriteDeadline(time.Now().Add(f.idle))
}
