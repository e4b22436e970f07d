package cleaner

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// t0 is the start of the tests' clock.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// clock is a time source the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// policy is a test policy: clean anything dirty, no lag.
func policy() Policy {
	return Policy{MinCleanableRatio: 0.01, DeleteRetention: time.Hour, SegmentBytes: 64 << 10}
}

func openLog(t testing.TB, dir string, segmentBytes int64) *commitlog.Log {
	t.Helper()
	l, err := commitlog.Open(dir, commitlog.Config{SegmentBytes: segmentBytes, SegmentAge: 100 * 365 * 24 * time.Hour, RetentionAge: -1})
	if err != nil {
		t.Fatalf("open log: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func newCleaner(t testing.TB, dir string, clk *clock) *Cleaner {
	t.Helper()
	c, err := New(Config{Dir: dir, Now: clk.Now, Backoff: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// kv is a record; a nil value is a tombstone.
type kv struct {
	key   string
	value *string
}

func val(s string) *string { return &s }

// appendRecords appends one batch of records, timestamped ts.
func appendRecords(t testing.TB, l *commitlog.Log, ts time.Time, recs ...kv) {
	t.Helper()
	rs := make([]batch.Record, len(recs))
	for i, r := range recs {
		rs[i] = batch.Record{Timestamp: ts.UnixMilli(), Key: []byte(r.key)}
		if r.value != nil {
			rs[i].Value = []byte(*r.value)
		}
	}
	b, err := batch.Encode(rs, batch.DefaultEncodeOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(b, 0); err != nil {
		t.Fatal(err)
	}
}

// seal rolls the active segment and commits everything, so every record
// is in a cleanable segment.
func seal(t testing.TB, l *commitlog.Log) {
	t.Helper()
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	l.SetHighWatermark(l.LogEndOffset())
}

// readAll reads every record of the log, checking offsets increase.
func readAll(t testing.TB, l *commitlog.Log) []batch.Record {
	t.Helper()
	var out []batch.Record
	last := int64(-1)
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		b, err := l.Read(off, 1<<20, l.LogEndOffset())
		if err != nil {
			t.Fatalf("read %d: %v", off, err)
		}
		if len(b) == 0 {
			break // a compacted gap up to the log end
		}
		err = batch.ForEach(b, func(r batch.Record) error {
			if r.Offset <= last {
				return fmt.Errorf("offset %d after %d", r.Offset, last)
			}
			last = r.Offset
			r.Key = append([]byte(nil), r.Key...)
			if r.Value != nil {
				r.Value = append([]byte(nil), r.Value...)
			}
			out = append(out, r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		off = last + 1
	}
	return out
}

// latestByKey is what a consumer of the whole log ends up with: the last
// value per key, tombstones removing keys.
func latestByKey(recs []batch.Record) map[string]string {
	m := map[string]string{}
	for _, r := range recs {
		if r.Value == nil {
			delete(m, string(r.Key))
		} else {
			m[string(r.Key)] = string(r.Value)
		}
	}
	return m
}

// copyDir copies a log directory as it is on disk now: what a crash at
// this moment would leave (no clean-shutdown marker).
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == commitlog.CleanShutdownFile {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		_ = in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
