package main

import (
	"errors"
	"io"
	"log/slog"
	"runtime/debug"
	"testing"

	"github.com/sluice-mq/sluice/broker"
)

func TestApplyGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	noEnv := func(string) string { return "" }

	applyGC(broker.GCConfig{Percent: 400}, noEnv, logger)
	if got := debug.SetGCPercent(100); got != 400 {
		t.Fatalf("GC percent %d after the config's 400", got)
	}
	gogc := func(k string) string {
		if k == "GOGC" {
			return "150"
		}
		return ""
	}
	applyGC(broker.GCConfig{Percent: 400}, gogc, logger)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GC percent %d: GOGC in the environment must win over the config", got)
	}
}

func TestGCConfigValidation(t *testing.T) {
	for _, tt := range []struct {
		gc broker.GCConfig
		ok bool
	}{
		{broker.GCConfig{Percent: broker.DefaultGCPercent}, true},
		{broker.GCConfig{Percent: 200, MemoryLimitBytes: 1 << 30}, true},
		{broker.GCConfig{Percent: -1, MemoryLimitBytes: 1 << 30}, true},
		{broker.GCConfig{Percent: 0}, false},
		{broker.GCConfig{Percent: -1}, false}, // off needs a memory limit
		{broker.GCConfig{Percent: 100, MemoryLimitBytes: -1}, false},
	} {
		cfg := broker.DefaultConfig()
		cfg.GC = tt.gc
		err := cfg.Validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, broker.ErrInvalidConfig)) {
			t.Errorf("%+v: %v, want ok=%v", tt.gc, err, tt.ok)
		}
	}
}
