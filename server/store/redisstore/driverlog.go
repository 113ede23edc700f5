package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// DriverLog passes go-redis's own log lines to a slog.Logger. Make one with
// DriverLogger.
type DriverLog struct {
	l     *slog.Logger
	level slog.Level
}

// DriverLogger returns a go-redis logger that writes to l at level.
//
// go-redis logs on its own, process-wide (redis.SetLogger), to stderr by
// default, and in a loop while Redis is away: a line per failed dial. This
// package never changes that global; a binary that wants its logs to say
// once that Redis went away, as the Log does, routes go-redis's below what
// it shows:
//
//	redis.SetLogger(redisstore.DriverLogger(logger, slog.LevelDebug))
func DriverLogger(l *slog.Logger, level slog.Level) *DriverLog {
	return &DriverLog{l: l, level: level}
}

// Printf logs one go-redis line.
func (d *DriverLog) Printf(ctx context.Context, format string, v ...any) {
	if !d.l.Enabled(ctx, d.level) {
		return // not worth formatting
	}
	d.l.Log(ctx, d.level, strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "go-redis")
}
