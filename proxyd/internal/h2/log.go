package h2

import (
	"context"
	"log/slog"
	"time"
)

// logStream counts the stream in the metrics and writes its access log line, when the access log
// is on.
func (s *Server) logStream(st *stream) {
	took := time.Since(st.start)
	if st.stats.route != nil {
		var in int64
		if st.body != nil {
			in = st.body.read.Load()
		}
		st.stats.route.Observe([]byte(st.r.Method), st.status, took, in, st.bytes)
	}
	if !s.cfg.AccessLog {
		return
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "request", s.streamAttrs(st,
		slog.Int64("bytes", st.bytes),
		slog.Duration("duration", took),
	)...)
}

// logFailure logs why a stream failed, at warn level for the backend's faults and info for the
// client's, and writes its access log line.
func (s *Server) logFailure(st *stream, why string, err error) {
	level := slog.LevelWarn
	if st.status < 500 {
		level = slog.LevelInfo
	}
	s.log.LogAttrs(context.Background(), level, why, s.streamAttrs(st, slog.Any("err", err))...)
	s.logStream(st)
}

// streamAttrs are what every log line of a stream says: who asked what of which backend, and the
// status, followed by the line's own extra attributes; one allocation for them all.
func (s *Server) streamAttrs(st *stream, extra ...slog.Attr) []slog.Attr {
	attrs := make([]slog.Attr, 0, 6+len(extra))
	attrs = append(attrs,
		slog.String("client", st.r.RemoteAddr),
		slog.String("proto", st.r.Proto),
		slog.String("method", st.r.Method),
		slog.String("target", st.r.RequestURI),
		slog.String("backend", st.backend.addr),
		slog.Int("status", st.status),
	)
	return append(attrs, extra...)
}
