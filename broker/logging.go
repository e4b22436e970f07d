package broker

import (
	"context"
	"log/slog"
)

// minLevelHandler drops records below min; it keeps protoactor's chatty
// info logs (actor system started, endpoint connected) out of the node's
// log unless the node runs at debug.
type minLevelHandler struct {
	slog.Handler
	min slog.Level
}

func (h minLevelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithGroup(name), min: h.min}
}

// actorLogger is the logger handed to the actor system: the node's
// handler, tagged, at warn unless the node logs at debug.
func actorLogger(logger *slog.Logger) *slog.Logger {
	min := slog.LevelWarn
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		min = slog.LevelDebug
	}
	return slog.New(minLevelHandler{Handler: logger.Handler(), min: min}).With("component", "protoactor")
}
