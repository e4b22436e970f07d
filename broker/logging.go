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
	return slog.New(disconnectHandler{minLevelHandler{Handler: logger.Handler(), min: min}}).With("component", "protoactor")
}

// disconnectMessages are protoactor's logs of a peer's stream ending, or
// of a peer that no longer takes connections. A client that closes its
// connection after a command ends its stream, and an answer still on its
// way to it then finds its address refusing; that is how every
// short-lived client leaves, not an error of the node. A node that is
// down is reported by the membership (and its partitions' ISRs), not by
// these.
var disconnectMessages = map[string]bool{
	"EndpointWriter lost connection":                    true,
	"EndpointWriter error when closing the stream":      true,
	"EndpointWriter error when closing the client conn": true,
	"EndpointWriter failed to connect":                  true,
	"EndpointWriter failed to create receive stream":    true,
}

// disconnectHandler logs protoactor's disconnect messages at debug, whatever
// level protoactor gave them. They come at error, which Enabled lets
// through; Handle lowers the level and checks it again.
type disconnectHandler struct{ minLevelHandler }

func (h disconnectHandler) Handle(ctx context.Context, r slog.Record) error {
	if disconnectMessages[r.Message] && r.Level > slog.LevelDebug {
		r.Level = slog.LevelDebug
	}
	if !h.minLevelHandler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.minLevelHandler.Handle(ctx, r)
}

func (h disconnectHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return disconnectHandler{h.minLevelHandler.WithAttrs(attrs).(minLevelHandler)}
}

func (h disconnectHandler) WithGroup(name string) slog.Handler {
	return disconnectHandler{h.minLevelHandler.WithGroup(name).(minLevelHandler)}
}
