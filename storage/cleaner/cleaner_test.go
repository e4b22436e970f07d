package cleaner

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/commitlog"
)

// produceUpdates appends updates records to keys keys, round robin, in
// batches of 100, and returns the expected final value per key.
func produceUpdates(t testing.TB, l *commitlog.Log, ts time.Time, updates, keys int) map[string]string {
	t.Helper()
	want := map[string]string{}
	recs := make([]kv, 0, 100)
	for i := 0; i < updates; i++ {
		k, v := fmt.Sprintf("key-%04d", i%keys), fmt.Sprintf("v%d", i)
		want[k] = v
		recs = append(recs, kv{k, val(v)})
		if len(recs) == cap(recs) || i == updates-1 {
			appendRecords(t, l, ts, recs...)
			recs = recs[:0]
		}
	}
	return want
}

// 200k updates to 1k keys shrink to 1k records, one per key, with their
// offsets and the log end unchanged; the checkpoint survives a restart so
// nothing is cleaned again.
func TestCleanerShrinksToLatestPerKey(t *testing.T) {
	data := t.TempDir()
	dir := filepath.Join(data, "t-0")
	clk := newClock()
	l := openLog(t, dir, 256<<10)
	want := produceUpdates(t, l, clk.Now(), 200_000, 1_000)
	seal(t, l)
	leo, sizeBefore, segsBefore := l.LogEndOffset(), l.Size(), l.NumSegments()

	c := newCleaner(t, data, clk)
	c.Register("t-0", l, policy())
	cleaned, err := c.CleanOnce()
	if err != nil || !cleaned {
		t.Fatalf("CleanOnce = %v, %v", cleaned, err)
	}
	recs := readAll(t, l)
	if len(recs) != 1_000 {
		t.Fatalf("%d records after cleaning, want 1000", len(recs))
	}
	for _, r := range recs {
		if want[string(r.Key)] != string(r.Value) || fmt.Sprintf("v%d", r.Offset) != string(r.Value) {
			t.Fatalf("offset %d: %s=%s, want the latest value %s", r.Offset, r.Key, r.Value, want[string(r.Key)])
		}
	}
	if l.LogEndOffset() != leo {
		t.Fatalf("log end %d, want %d", l.LogEndOffset(), leo)
	}
	if l.Size() >= sizeBefore/50 {
		t.Fatalf("size %d after cleaning, %d before", l.Size(), sizeBefore)
	}
	st := c.Stats()
	if st.Runs != 1 || st.BytesRead != sizeBefore || st.BytesWritten != l.Size() {
		t.Fatalf("stats %+v, want 1 run reading %d and writing %d bytes", st, sizeBefore, l.Size())
	}
	if got := c.Checkpoint("t-0"); got != leo {
		t.Fatalf("checkpoint %d, want %d", got, leo)
	}

	// Restart the cleaner: its checkpoint says the log is clean.
	c.Close()
	c2 := newCleaner(t, data, clk)
	c2.Register("t-0", l, policy())
	if cleaned, err := c2.CleanOnce(); err != nil || cleaned {
		t.Fatalf("CleanOnce after restart = %v, %v; want nothing to clean", cleaned, err)
	}
	// New updates are dirty again; only they and the clean part are read.
	produceUpdates(t, l, clk.Now(), 1_000, 1_000)
	seal(t, l)
	if cleaned, err := c2.CleanOnce(); err != nil || !cleaned {
		t.Fatalf("CleanOnce with new updates = %v, %v", cleaned, err)
	}
	if n := len(readAll(t, l)); n != 1_000 {
		t.Fatalf("%d records after the second clean, want 1000", n)
	}
	// The small cleaned segments were grouped into one.
	if n := l.NumSegments(); n != 2 {
		t.Fatalf("%d segments after the second clean (%d before cleaning), want 1 cleaned + the active one", n, segsBefore)
	}
}

// A tombstone survives cleaning for delete.retention.ms after the segment
// holding it was first cleaned, then goes.
func TestCleanerTombstonesExpireAfterDeleteRetention(t *testing.T) {
	data := t.TempDir()
	clk := newClock()
	l := openLog(t, filepath.Join(data, "t-0"), 1<<20)
	for i := 0; i < 10; i++ {
		appendRecords(t, l, clk.Now(), kv{fmt.Sprintf("k%d", i), val("v")})
	}
	for i := 0; i < 5; i++ {
		appendRecords(t, l, clk.Now(), kv{fmt.Sprintf("k%d", i), nil})
	}
	seal(t, l)
	c := newCleaner(t, data, clk)
	c.Register("t-0", l, policy())
	tombstones := func() (n, total int) {
		recs := readAll(t, l)
		for _, r := range recs {
			if r.Value == nil {
				n++
			}
		}
		return n, len(recs)
	}
	if cleaned, err := c.CleanOnce(); err != nil || !cleaned {
		t.Fatalf("first clean = %v, %v", cleaned, err)
	}
	if n, total := tombstones(); n != 5 || total != 10 {
		t.Fatalf("after the first clean: %d tombstones of %d records, want 5 of 10", n, total)
	}
	clk.advance(time.Hour - time.Millisecond)
	if cleaned, err := c.CleanOnce(); err != nil || cleaned {
		t.Fatalf("clean before delete.retention.ms = %v, %v; want nothing to do", cleaned, err)
	}
	if n, _ := tombstones(); n != 5 {
		t.Fatalf("%d tombstones before delete.retention.ms, want 5", n)
	}
	clk.advance(time.Millisecond)
	if cleaned, err := c.CleanOnce(); err != nil || !cleaned {
		t.Fatalf("clean at delete.retention.ms = %v, %v", cleaned, err)
	}
	if n, total := tombstones(); n != 0 || total != 5 {
		t.Fatalf("after delete.retention.ms: %d tombstones of %d records, want 0 of 5", n, total)
	}
}

// Segments younger than min.compaction.lag.ms, the active segment and
// offsets at or above the high watermark are never cleaned.
func TestCleanerRespectsLagActiveSegmentAndHighWatermark(t *testing.T) {
	data := t.TempDir()
	clk := newClock()
	l := openLog(t, filepath.Join(data, "t-0"), 1<<20)
	produceUpdates(t, l, clk.Now(), 1_000, 10)
	c := newCleaner(t, data, clk)
	pol := policy()
	pol.MinCompactionLag = time.Minute
	c.Register("t-0", l, pol)
	clk.advance(time.Hour)
	l.SetHighWatermark(l.LogEndOffset())
	if cleaned, err := c.CleanOnce(); err != nil || cleaned {
		t.Fatalf("clean of an active segment = %v, %v", cleaned, err)
	}
	appendRecords(t, l, t0, kv{"key-0000", val("last")})
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	if cleaned, err := c.CleanOnce(); err != nil || cleaned {
		t.Fatalf("clean above the high watermark = %v, %v", cleaned, err)
	}
	l.SetHighWatermark(l.LogEndOffset())
	clk.advance(-time.Hour + time.Second)
	if cleaned, err := c.CleanOnce(); err != nil || cleaned {
		t.Fatalf("clean within min.compaction.lag.ms = %v, %v", cleaned, err)
	}
	clk.advance(time.Minute)
	if cleaned, err := c.CleanOnce(); err != nil || !cleaned {
		t.Fatalf("clean after min.compaction.lag.ms = %v, %v", cleaned, err)
	}
	if recs := readAll(t, l); len(recs) != 10 {
		for _, r := range recs {
			t.Logf("%d %s=%s", r.Offset, r.Key, r.Value)
		}
		t.Fatalf("%d records, want 10", len(recs))
	}
}

// A corrupt batch in a closed segment marks the log uncleanable: the
// clean fails with a logged error, the log is skipped afterwards and its
// data is untouched.
func TestCleanerSkipsUncleanableLog(t *testing.T) {
	data := t.TempDir()
	clk := newClock()
	l := openLog(t, filepath.Join(data, "t-0"), 1<<20)
	produceUpdates(t, l, clk.Now(), 1_000, 10)
	seal(t, l)
	seg := l.Segments()[0]
	f, err := os.OpenFile(seg.Path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff, 0xff, 0xff}, seg.Size/2); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	c := newCleaner(t, data, clk)
	c.Register("t-0", l, policy())
	if _, err := c.CleanOnce(); !errors.Is(err, errUncleanable) {
		t.Fatalf("clean of a corrupt log: %v, want an uncleanable error", err)
	}
	if st := c.Stats(); st.Uncleanable != 1 || st.Runs != 0 {
		t.Fatalf("stats %+v, want 1 uncleanable log and no run", st)
	}
	if cleaned, err := c.CleanOnce(); err != nil || cleaned {
		t.Fatalf("second clean = %v, %v; want the log skipped", cleaned, err)
	}
	if got := l.Segments()[0]; got.Size != seg.Size {
		t.Fatalf("corrupt segment changed: %d bytes, was %d", got.Size, seg.Size)
	}
}

// A crash at any point of a clean leaves a readable log with every key's
// latest value and the same log end: before a swap (cleaned files are
// discarded), between swaps (some segments cleaned, some not) and after.
func TestCleanerCrashDuringCleanLeavesCompleteLog(t *testing.T) {
	data := t.TempDir()
	dir := filepath.Join(data, "t-0")
	clk := newClock()
	l := openLog(t, dir, 8<<10)
	want := produceUpdates(t, l, clk.Now(), 5_000, 50)
	seal(t, l)
	leo := l.LogEndOffset()
	c := newCleaner(t, data, clk)
	pol := policy()
	pol.SegmentBytes = 16 << 10 // several groups
	c.Register("t-0", l, pol)
	var snapshots []string
	c.swapHook = func(int) { snapshots = append(snapshots, copyDir(t, dir)) }
	if cleaned, err := c.CleanOnce(); err != nil || !cleaned {
		t.Fatalf("CleanOnce = %v, %v", cleaned, err)
	}
	if len(snapshots) < 3 {
		t.Fatalf("%d crash points, want at least 3", len(snapshots))
	}
	for i, snap := range snapshots {
		cleanedFiles, _ := filepath.Glob(filepath.Join(snap, "*"+commitlog.CleanedSuffix))
		if i < len(snapshots)-1 && len(cleanedFiles) == 0 {
			t.Fatalf("crash point %d has no cleaned segment files", i)
		}
		r := openLog(t, snap, 8<<10)
		if r.LogEndOffset() != leo {
			t.Fatalf("crash point %d: log end %d, want %d", i, r.LogEndOffset(), leo)
		}
		got := latestByKey(readAll(t, r))
		if len(got) != len(want) {
			t.Fatalf("crash point %d: %d keys, want %d", i, len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("crash point %d: %s=%s, want %s", i, k, got[k], v)
			}
		}
		if left, _ := filepath.Glob(filepath.Join(snap, "*"+commitlog.CleanedSuffix)); len(left) != 0 {
			t.Fatalf("crash point %d: recovery left %v", i, left)
		}
	}
}

// Unregistering a log cancels its clean in progress; the log is left as it
// was and no cleaned files remain.
func TestCleanerUnregisterCancelsClean(t *testing.T) {
	data := t.TempDir()
	dir := filepath.Join(data, "t-0")
	clk := newClock()
	l := openLog(t, dir, 64<<10)
	produceUpdates(t, l, clk.Now(), 20_000, 100)
	seal(t, l)
	size := l.Size()
	c, err := New(Config{Dir: data, Now: clk.Now, IOBytesPerSecond: 64 << 10, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Register("t-0", l, policy())
	c.Start()
	// Wait until the (throttled) clean is under way.
	deadline := time.Now().Add(10 * time.Second)
	for !c.cleaning("t-0") {
		if time.Now().After(deadline) {
			t.Fatal("the clean never started")
		}
		time.Sleep(time.Millisecond)
	}
	c.Unregister("t-0", false)
	if l.Size() != size {
		t.Fatalf("log size %d after a cancelled clean, want %d", l.Size(), size)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*"+commitlog.CleanedSuffix)); len(m) != 0 {
		t.Fatalf("cleaned files left: %v", m)
	}
	if st := c.Stats(); st.Runs != 0 {
		t.Fatalf("stats %+v, want no completed run", st)
	}
}

// cleaning reports whether a thread is cleaning the log named name.
func (c *Cleaner) cleaning(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.logs[name]
	return ok && e.busy
}

// Appends and reads running while the cleaner swaps segments see a
// consistent log: offsets increase, nothing below the log end is lost
// for any key, and reads never fail.
func TestCleanerConcurrentAppendsAndReads(t *testing.T) {
	data := t.TempDir()
	clk := newClock()
	l := openLog(t, filepath.Join(data, "t-0"), 4<<10)
	c := newCleaner(t, data, clk)
	c.Register("t-0", l, policy())
	c.Start()
	want := map[string]string{}
	for round := 0; round < 40; round++ {
		for i := 0; i < 50; i++ {
			k, v := fmt.Sprintf("k%d", i%20), fmt.Sprintf("r%d-%d", round, i)
			appendRecords(t, l, clk.Now(), kv{k, val(v)})
			want[k] = v
		}
		l.SetHighWatermark(l.LogEndOffset())
		got := latestByKey(readAll(t, l))
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("round %d: %s=%q, want %q", round, k, got[k], v)
			}
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().Runs == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cleaner never ran")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A dirty part with more keys than the dedupe buffer holds is cleaned a
// prefix at a time, each clean advancing the checkpoint, and ends up
// fully compacted.
func TestCleanerDedupeBufferCleansInSteps(t *testing.T) {
	data := t.TempDir()
	clk := newClock()
	l := openLog(t, filepath.Join(data, "t-0"), 4<<10)
	want := produceUpdates(t, l, clk.Now(), 6_000, 1_000)
	seal(t, l)
	c, err := New(Config{Dir: data, Now: clk.Now, DedupeBufferBytes: 600 * BytesPerKey, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Register("t-0", l, policy())
	steps := 0
	for ; c.Checkpoint("t-0") < l.LogEndOffset(); steps++ {
		if steps > 20 {
			t.Fatalf("no progress: checkpoint %d of %d", c.Checkpoint("t-0"), l.LogEndOffset())
		}
		before := c.Checkpoint("t-0")
		if cleaned, err := c.CleanOnce(); err != nil || !cleaned {
			t.Fatalf("clean %d = %v, %v", steps, cleaned, err)
		}
		if c.Checkpoint("t-0") <= before {
			t.Fatalf("clean %d left the checkpoint at %d", steps, before)
		}
	}
	if steps < 2 {
		t.Fatalf("cleaned in %d step(s), want several with a 600-key buffer", steps)
	}
	recs := readAll(t, l)
	if len(recs) != 1_000 {
		t.Fatalf("%d records after %d cleans, want 1000", len(recs), steps)
	}
	got := latestByKey(recs)
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s=%s, want %s", k, got[k], v)
		}
	}
}

// Without min.compaction.lag.ms, records stamped ahead of the broker's
// clock (a producer's clock skew) do not hold cleaning back.
func TestCleanerCleansFutureTimestampsWithoutLag(t *testing.T) {
	data := t.TempDir()
	clk := newClock()
	l := openLog(t, filepath.Join(data, "t-0"), 1<<20)
	produceUpdates(t, l, clk.Now().Add(time.Hour), 1_000, 10)
	seal(t, l)
	c := newCleaner(t, data, clk)
	c.Register("t-0", l, policy())
	if cleaned, err := c.CleanOnce(); err != nil || !cleaned {
		t.Fatalf("CleanOnce = %v, %v", cleaned, err)
	}
	if n := len(readAll(t, l)); n != 10 {
		t.Fatalf("%d records, want 10", n)
	}
}
