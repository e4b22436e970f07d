package broker

import "fmt"

// GCConfig tunes the Go garbage collector of the node process. The
// environment variables GOGC and GOMEMLIMIT, when set, win over it, as
// for any Go program.
type GCConfig struct {
	// Percent is GOGC: the heap grows by this percentage of the live heap
	// before a collection. A broker's live heap is small next to the
	// record bytes it moves, so collecting at 100% spends much of a core
	// marking the same few objects; see docs/benchmarks.md for the
	// measurement behind the default. -1 turns the collector off (only
	// with MemoryLimitBytes).
	Percent int `yaml:"percent"`
	// MemoryLimitBytes is GOMEMLIMIT: a soft limit on the process's Go
	// memory at which the collector runs whatever Percent says. 0 means
	// none.
	MemoryLimitBytes int64 `yaml:"memory_limit_bytes"`
}

// DefaultGCPercent is the default GCConfig.Percent.
const DefaultGCPercent = 400

func (g GCConfig) validate() error {
	switch {
	case g.Percent < -1 || g.Percent == 0:
		return badConfig("gc.percent %d: want -1 (off) or a percentage > 0", g.Percent)
	case g.MemoryLimitBytes < 0:
		return badConfig("gc.memory_limit_bytes %d: want >= 0 (0: no limit)", g.MemoryLimitBytes)
	case g.Percent == -1 && g.MemoryLimitBytes == 0:
		return badConfig("gc.percent -1 needs gc.memory_limit_bytes: without a limit the heap would grow forever")
	}
	return nil
}

// String describes the settings for a log line.
func (g GCConfig) String() string {
	return fmt.Sprintf("percent=%d memory_limit_bytes=%d", g.Percent, g.MemoryLimitBytes)
}
