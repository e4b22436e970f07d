package broker

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestActorLoggerDisconnectIsDebug(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var buf bytes.Buffer
		logger := actorLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level})))
		logger.Error("EndpointWriter lost connection", slog.String("address", "127.0.0.1:4000"),
			slog.Any("error", errors.New("rpc error: code = Unavailable desc = error reading from server: EOF")))
		logger.Error("EndpointWriter failed to connect", slog.String("address", "127.0.0.1:4001"),
			slog.Any("error", errors.New("dial tcp 127.0.0.1:4001: connect: connection refused")))
		logger.Error("EndpointWriter failed to create receive stream", slog.String("address", "127.0.0.1:4001"))
		logger.Error("EndpointWriter failed to serialize message")
		logger.Info("Started Activator")
		out := buf.String()
		if strings.Contains(out, "level=ERROR msg=\"EndpointWriter lost") || strings.Contains(out, "level=ERROR msg=\"EndpointWriter failed to c") {
			t.Errorf("level %v: a disconnect logged as an error:\n%s", level, out)
		}
		if got := strings.Contains(out, "level=DEBUG msg=\"EndpointWriter lost connection\""); got != (level == slog.LevelDebug) {
			t.Errorf("level %v: disconnect at debug shown %v:\n%s", level, got, out)
		}
		if !strings.Contains(out, "level=ERROR msg=\"EndpointWriter failed to serialize message\"") {
			t.Errorf("level %v: a real error lost:\n%s", level, out)
		}
		if got := strings.Contains(out, "Started Activator"); got != (level == slog.LevelDebug) {
			t.Errorf("level %v: protoactor info shown %v:\n%s", level, got, out)
		}
		if !strings.Contains(out, "component=protoactor") {
			t.Errorf("no component attr:\n%s", out)
		}
	}
}
