package group

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/actors/partition"
	"github.com/sluice-mq/sluice/cluster/metadata"
	core "github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/cleaner"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// writeCommits fills the __consumer_offsets log in dir with commits
// rounds of one offset commit per group (one partition each), as a busy
// coordinator would have written them, and closes it with everything
// committed and in closed segments.
func writeCommits(t testing.TB, dir string, groups, commits int) {
	t.Helper()
	l, err := commitlog.Open(dir, commitlog.Config{SegmentBytes: 1 << 20, SegmentAge: 100 * 365 * 24 * time.Hour, RetentionAge: -1})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	for c := 0; c < commits; c++ {
		recs := make([]logRecord, groups)
		for g := range recs {
			recs[g] = offsetRecord(fmt.Sprintf("group-%d", g), core.Partition{Topic: "orders", Partition: 0},
				&core.OffsetValue{Offset: int64(c), LeaderEpoch: -1, CommitTimestamp: now})
		}
		b, err := encodeRecords(now, batch.DefaultEncodeOptions(), recs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(b, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	l.SetHighWatermark(l.LogEndOffset())
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// loadHarness is a harness whose __consumer_offsets replica is compacted
// by c (nil: not compacted) and which reports each load on loads.
func loadHarness(t testing.TB, c *cleaner.Cleaner) (*harness, chan int) {
	loads := make(chan int, 16)
	quiet := slog.New(slog.DiscardHandler)
	h := &harness{
		t:      t,
		system: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet })),
		dir:    t.TempDir(),
		cfg: Config{Group: core.DefaultConfig(), Logger: quiet, OnLoad: func(_ string, records int, _ time.Duration) {
			select {
			case loads <- records:
			default:
			}
		}},
	}
	h.replicaConfig = func(rc *partition.Config) {
		rc.TopicConfig.CleanupPolicy = metadata.CleanupCompact
		rc.Cleaner = c
	}
	t.Cleanup(h.stop)
	return h, loads
}

// loadGroup starts (or, after a restart, reloads) group's coordinator and
// returns how many records its load read.
func loadGroup(t testing.TB, h *harness, loads chan int, group string) int {
	t.Helper()
	h.loaded(group)
	select {
	case n := <-loads:
		return n
	case <-time.After(requestTimeout):
		t.Fatal("no load reported")
		return 0
	}
}

// After the coordinator fails over, a group's load reads the whole
// __consumer_offsets partition: with the partition compacted by the
// node's cleaner it reads one record per committed offset instead of one
// per commit, and still finds the latest offsets.
func TestGroupLoadReadsCompactedOffsets(t *testing.T) {
	const groups, commits = 20, 500
	data := t.TempDir()
	c, err := cleaner.New(cleaner.Config{Dir: data, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h, loads := loadHarness(t, c)
	h.dir = data
	writeCommits(t, filepath.Join(data, messages.ConsumerOffsetsTopic+"-0"), groups, commits)

	h.start()
	if n := loadGroup(t, h, loads, "group-0"); n != groups*commits {
		t.Fatalf("uncompacted load read %d records, want %d", n, groups*commits)
	}
	if cleaned, err := c.CleanOnce(); err != nil || !cleaned {
		t.Fatalf("clean = %v, %v", cleaned, err)
	}
	h.restart() // failover: the next coordinator loads from the log
	if n := loadGroup(t, h, loads, "group-1"); n != groups {
		t.Fatalf("compacted load read %d records, want %d (one per group)", n, groups)
	}
	offsets, code := h.committed("group-1")
	if code != messages.ErrorCode_NONE || offsets["orders/0"] != commits-1 {
		t.Fatalf("group-1 offsets after the compacted load: %v %v, want orders/0=%d", offsets, code, commits-1)
	}
}

// BenchmarkGroupLoad measures a group's load after failover from a
// __consumer_offsets partition holding 100 groups × 10,000 commits, as
// written and after the cleaner compacted it.
func BenchmarkGroupLoad(b *testing.B) {
	const groups, commits = 100, 10_000
	for _, compacted := range []bool{false, true} {
		name := map[bool]string{false: "uncompacted", true: "compacted"}[compacted]
		b.Run(name, func(b *testing.B) {
			data := b.TempDir()
			c, err := cleaner.New(cleaner.Config{Dir: data, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			h, loads := loadHarness(b, c)
			h.dir = data
			writeCommits(b, filepath.Join(data, messages.ConsumerOffsetsTopic+"-0"), groups, commits)
			h.start()
			waitFor(b, requestTimeout, func() error {
				if c.Stats().Logs != 1 {
					return fmt.Errorf("the replica has not registered its log")
				}
				return nil
			})
			if compacted {
				if cleaned, err := c.CleanOnce(); err != nil || !cleaned {
					b.Fatalf("clean = %v, %v", cleaned, err)
				}
			}
			var read int
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				h.restart()
				read = loadGroup(b, h, loads, fmt.Sprintf("group-%d", i%groups))
			}
			b.ReportMetric(float64(read), "records/load")
		})
	}
}
