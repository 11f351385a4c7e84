package h2

import (
	"io"
	"net/http"
)

// relayBufferSize is the size of the buffer a response body is relayed through (32 KiB); every
// read of the backend's body is written and flushed to the client at once.
const relayBufferSize = 32 << 10

// relay sends the backend's response on the stream: its head without connection-specific fields,
// its body as it arrives, flushed after every write (event streams and gRPC streaming responses
// reach the client message by message), and its trailers (gRPC's grpc-status among them). A backend
// that fails in the middle of the body makes the stream end with RST_STREAM rather than look
// complete; a client that goes away is logged 499.
func (s *Server) relay(st *stream, resp *http.Response) {
	h := st.w.Header()
	for k, vv := range resp.Header {
		h[k] = vv
	}
	dropConnectionFields(h)
	st.status = resp.StatusCode
	st.w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(st.w)
	if err := rc.Flush(); err != nil {
		s.clientLeft(st, err)
		return
	}
	buf := make([]byte, relayBufferSize)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := st.w.Write(buf[:n]); err != nil {
				s.clientLeft(st, err)
				return
			}
			st.bytes += int64(n)
			if err := rc.Flush(); err != nil {
				s.clientLeft(st, err)
				return
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if st.r.Context().Err() != nil {
				s.clientLeft(st, rerr)
				return
			}
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
	st.status = statusClientClosed
	s.logFailure(st, "client went away", err)
}
