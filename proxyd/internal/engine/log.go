package engine

import (
	"context"
	"log/slog"
	"time"
)

// record counts the exchange in the metrics and writes its access log line, when the access log
// is on.
func (c *clientConn) record() {
	x := c.ex
	if x.stats == nil && !c.srv.cfg.AccessLog {
		return
	}
	took := time.Since(x.start)
	x.stats.Observe(x.method, x.status, took, x.received, x.bytes)
	if !c.srv.cfg.AccessLog {
		return
	}
	c.srv.log.LogAttrs(context.Background(), slog.LevelInfo, "request",
		slog.String("client", c.conn.RemoteAddr().String()),
		slog.String("method", string(x.method)),
		slog.String("target", string(x.target)),
		slog.String("backend", x.pool.Addr()),
		slog.Int("status", x.status),
		slog.Int64("bytes", x.bytes),
		slog.Duration("duration", took),
	)
}

// logFailure logs why an exchange failed: at warn level for the backend's faults, info for the
// client's, and records the exchange.
func (c *clientConn) logFailure(why string, err error) {
	x := c.ex
	level := slog.LevelWarn
	if x.status < 500 {
		level = slog.LevelInfo
	}
	c.srv.log.LogAttrs(context.Background(), level, why,
		slog.String("client", c.conn.RemoteAddr().String()),
		slog.String("method", string(x.method)),
		slog.String("target", string(x.target)),
		slog.String("backend", x.pool.Addr()),
		slog.Int("status", x.status),
		slog.Any("err", err),
	)
	c.record()
}
