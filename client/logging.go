package client

import (
	"context"
	"log/slog"
)

// actorLogHandler passes protoactor's logs on one level lower: it reports
// connection failures to brokers as errors, while for a client they are
// expected events the retry logic deals with.
type actorLogHandler struct{ h slog.Handler }

func demote(l slog.Level) slog.Level {
	switch {
	case l >= slog.LevelError:
		return slog.LevelWarn
	case l >= slog.LevelWarn:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

func (a actorLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return a.h.Enabled(ctx, demote(l))
}

func (a actorLogHandler) Handle(ctx context.Context, r slog.Record) error {
	r.Level = demote(r.Level)
	return a.h.Handle(ctx, r)
}

func (a actorLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return actorLogHandler{a.h.WithAttrs(attrs)}
}

func (a actorLogHandler) WithGroup(name string) slog.Handler {
	return actorLogHandler{a.h.WithGroup(name)}
}
