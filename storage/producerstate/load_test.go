package producerstate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// testLog is a real log that rolls every few batches, written by three
// idempotent producers (one transactional, its transactions ended by
// markers); live is the state kept while appending, with a snapshot
// written at each roll as the replica does.
type testLog struct {
	t    *testing.T
	dir  string
	log  *commitlog.Log
	live *State
	seq  map[int64]int32
	base int64        // active segment base at the last snapshot
	last batch.Header // of the last batch appended
}

func newTestLog(t *testing.T) *testLog {
	t.Helper()
	dir := t.TempDir()
	cfg := commitlog.DefaultConfig()
	cfg.SegmentBytes = 2048
	l, err := commitlog.Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return &testLog{t: t, dir: dir, log: l, live: New(Config{}, 0), seq: map[int64]int32{}}
}

// appendBatches appends n batches, snapshotting at every roll.
func (tl *testLog) appendBatches(n int) {
	tl.t.Helper()
	for i := range n {
		pid := int64(1 + i%3)
		var data []byte
		var err error
		if pid == 3 && i%4 == 3 {
			data, err = batch.EncodeControl(batch.ControlType(i%2), pid, 0, 1, 1000)
		} else {
			opts := batch.DefaultEncodeOptions()
			opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence = pid, 0, tl.seq[pid]
			opts.Transactional = pid == 3
			recs := []batch.Record{{Timestamp: 1000, Value: bytes.Repeat([]byte{'x'}, 100)}, {Timestamp: 1000, Value: []byte("y")}}
			tl.seq[pid] += 2
			data, err = batch.Encode(recs, opts)
		}
		if err != nil {
			tl.t.Fatal(err)
		}
		info, err := tl.log.Append(data, 0)
		if err != nil {
			tl.t.Fatal(err)
		}
		if base := tl.log.ActiveSegmentBase(); base != tl.base {
			tl.base = base
			if err := WriteSnapshot(nil, tl.dir, info.FirstOffset, tl.live.Entries()); err != nil {
				tl.t.Fatal(err)
			}
		}
		if tl.last, err = batch.ParseHeader(data); err != nil {
			tl.t.Fatal(err)
		}
		if _, err := tl.live.ApplyBatches(data); err != nil {
			tl.t.Fatal(err)
		}
	}
}

// fullReplay is the state of replaying the whole log.
func (tl *testLog) fullReplay() *State {
	tl.t.Helper()
	s := New(Config{}, tl.log.LogStartOffset())
	if err := Replay(s, tl.log, 0); err != nil {
		tl.t.Fatal(err)
	}
	s.end = max(s.end, tl.log.LogEndOffset())
	return s
}

func sameState(t *testing.T, got, want *State) {
	t.Helper()
	if g, w := EncodeSnapshot(got.Entries()), EncodeSnapshot(want.Entries()); !bytes.Equal(g, w) || got.End() != want.End() {
		t.Fatalf("state at %d:\n%+v\nwant at %d:\n%+v", got.End(), got.Entries(), want.End(), want.Entries())
	}
	gf, gok := got.FirstUndecidedOffset()
	wf, wok := want.FirstUndecidedOffset()
	if gf != wf || gok != wok {
		t.Fatalf("first undecided %d %v, want %d %v", gf, gok, wf, wok)
	}
}

func TestLoadUsesLatestSnapshotAndTail(t *testing.T) {
	tl := newTestLog(t)
	tl.appendBatches(40)
	snaps, _ := ListSnapshots(tl.dir)
	if len(snaps) < 3 {
		t.Fatalf("only %d snapshots after 40 batches", len(snaps))
	}
	st, stats, err := Load(nil, tl.dir, tl.log, Config{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Snapshot != snaps[len(snaps)-1] || stats.Corrupt != 0 {
		t.Fatalf("stats %+v, want the snapshot at %d", stats, snaps[len(snaps)-1])
	}
	if total := len(tl.log.Segments()); stats.Batches >= 40/total*2+4 {
		t.Fatalf("replayed %d batches of 40: more than the tail", stats.Batches)
	}
	sameState(t, st, tl.live)
	sameState(t, st, tl.fullReplay())
}

// Damaged snapshots are skipped (and deleted) down to an older one, or
// to a full replay; the state is never wrong.
func TestLoadFallsBackFromCorruptSnapshots(t *testing.T) {
	tl := newTestLog(t)
	tl.appendBatches(40)
	snaps, _ := ListSnapshots(tl.dir)
	want := tl.fullReplay()
	for i := len(snaps) - 1; i >= 0; i-- {
		path := filepath.Join(tl.dir, SnapshotName(snaps[i]))
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			b = b[:len(b)/2] // torn
		case 1:
			b[len(b)-1] ^= 1 // bit rot
		default:
			b = nil // empty file
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		st, stats, err := Load(nil, tl.dir, tl.log, Config{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		wantSnap := int64(-1)
		if i > 0 {
			wantSnap = snaps[i-1]
		}
		if stats.Snapshot != wantSnap || stats.Corrupt != 1 {
			t.Fatalf("snapshot %d damaged: stats %+v, want snapshot %d", snaps[i], stats, wantSnap)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("damaged snapshot %d kept: %v", snaps[i], err)
		}
		sameState(t, st, want)
	}
}

// A crash mid-write: a leftover temporary file is deleted, the log's torn
// tail is cut by the log's own recovery, and a snapshot beyond the
// surviving log end is deleted, not used.
func TestLoadAfterCrash(t *testing.T) {
	tl := newTestLog(t)
	tl.appendBatches(30)
	if err := tl.log.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(tl.dir, "*.log"))
	last := segs[len(segs)-1]
	// A snapshot beyond the end, a temporary, and a log cut mid-batch
	// (the tail the OS had not written).
	if err := os.WriteFile(filepath.Join(tl.dir, SnapshotName(1<<40)), EncodeSnapshot(nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tl.dir, SnapshotName(5)+".tmp"), []byte("torn"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(last, st.Size()-30); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(tl.dir, commitlog.CleanShutdownFile)); err != nil {
		t.Fatal(err)
	}
	l, err := commitlog.Open(tl.dir, tl.log.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tl.log = l
	if l.OpenStats().BytesTruncated == 0 {
		t.Fatal("the torn tail was not cut")
	}
	loaded, stats, err := Load(nil, tl.dir, l, Config{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Stale != 1 || stats.Snapshot < 0 {
		t.Fatalf("stats %+v", stats)
	}
	left, _ := os.ReadDir(tl.dir)
	for _, de := range left {
		if filepath.Ext(de.Name()) == ".tmp" || de.Name() == SnapshotName(1<<40) {
			t.Fatalf("%s left after load", de.Name())
		}
	}
	sameState(t, loaded, tl.fullReplay())
	// The last batch was lost: its retry is appended again, not answered
	// as a duplicate of records the log no longer has.
	if tl.last.Attributes.Control() {
		t.Fatal("the test wants a data batch last")
	}
	retry := tl.last
	if _, isDup, err := loaded.Check([]batch.Header{retry}); isDup || err != nil {
		t.Fatalf("retry of the lost batch: duplicate %v, %v", isDup, err)
	}
	if _, isDup, _ := tl.live.Check([]batch.Header{retry}); !isDup {
		t.Fatal("before the crash the retry was a duplicate")
	}
}

// A truncation drops the snapshots above its point; the state rebuilt is
// that of the shorter log.
func TestLoadAfterTruncation(t *testing.T) {
	tl := newTestLog(t)
	tl.appendBatches(40)
	to := tl.log.LogEndOffset() / 2
	if _, err := DeleteSnapshotsAbove(nil, tl.dir, to); err != nil {
		t.Fatal(err)
	}
	if err := tl.log.TruncateTo(to); err != nil {
		t.Fatal(err)
	}
	st, _, err := Load(nil, tl.dir, tl.log, Config{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, st, tl.fullReplay())
	if st.End() != tl.log.LogEndOffset() {
		t.Fatalf("end %d, log end %d", st.End(), tl.log.LogEndOffset())
	}
}
