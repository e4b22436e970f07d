package main

import (
	"log/slog"
	"runtime/debug"

	"github.com/sluice-mq/sluice/broker"
)

// applyGC sets the collector's percent and memory limit from the config,
// unless GOGC or GOMEMLIMIT (read with getenv) set them for the process.
func applyGC(gc broker.GCConfig, getenv func(string) string, logger *slog.Logger) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gc.Percent)
	}
	if getenv("GOMEMLIMIT") == "" && gc.MemoryLimitBytes > 0 {
		debug.SetMemoryLimit(gc.MemoryLimitBytes)
	}
	logger.Debug("garbage collector", "config", gc.String(), "GOGC", getenv("GOGC"), "GOMEMLIMIT", getenv("GOMEMLIMIT"))
}
