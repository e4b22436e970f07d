package commitlog

import (
	"errors"
	"testing"

	"github.com/sluice-mq/sluice/storage/epochcache"
)

func TestLogEpochs(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Config{SegmentBytes: 2_000})
	if l.LatestEpoch() != -1 {
		t.Fatalf("empty log epoch %d", l.LatestEpoch())
	}
	if e, end := l.EndOffsetForEpoch(0); e != -1 || end != -1 {
		t.Fatalf("EndOffsetForEpoch on empty cache = %d, %d", e, end)
	}
	// Epoch 1 writes 0-9, epoch 3 is assigned at 10 by a new leader and
	// writes 10-19, epoch 5 writes 20-29.
	for _, ep := range []int32{1, 3, 5} {
		if ep == 3 {
			if err := l.AssignEpoch(3, 10); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 5; i++ {
			if _, err := l.Append(makeBatch(0, 2, 300, tsBase), ep); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := []epochcache.Entry{{Epoch: 1, StartOffset: 0}, {Epoch: 3, StartOffset: 10}, {Epoch: 5, StartOffset: 20}}
	checkEpochs(t, l, want)
	cases := []struct {
		epoch     int32
		wantEpoch int32
		wantEnd   int64
	}{
		{0, 0, 0},   // below every epoch: the earliest start
		{1, 1, 10},  // ends where epoch 3 starts
		{2, 1, 10},  // unknown epoch between: largest below it
		{3, 3, 20},  // ends where 5 starts
		{5, 5, 30},  // latest: the log end offset
		{6, -1, -1}, // above the latest
	}
	for _, c := range cases {
		if e, end := l.EndOffsetForEpoch(c.epoch); e != c.wantEpoch || end != c.wantEnd {
			t.Fatalf("EndOffsetForEpoch(%d) = %d, %d; want %d, %d", c.epoch, e, end, c.wantEpoch, c.wantEnd)
		}
	}
	if err := l.AssignEpoch(2, 30); !errors.Is(err, epochcache.ErrNonMonotonic) {
		t.Fatalf("AssignEpoch going back: %v", err)
	}
	// Truncation drops epochs that start at or after the new end.
	if err := l.TruncateTo(15); err != nil {
		t.Fatal(err)
	}
	checkEpochs(t, l, want[:2])
	if e, end := l.EndOffsetForEpoch(3); e != 3 || end != 14 {
		t.Fatalf("after truncate EndOffsetForEpoch(3) = %d, %d", e, end)
	}
	// A follower append carries new epochs into the cache.
	b := makeBatch(14, 1, 10, tsBase)
	setEpoch(b, 7)
	if _, err := l.AppendReplicated(b); err != nil {
		t.Fatal(err)
	}
	want = []epochcache.Entry{{Epoch: 1, StartOffset: 0}, {Epoch: 3, StartOffset: 10}, {Epoch: 7, StartOffset: 14}}
	checkEpochs(t, l, want)
	// Retention moves the first epoch's start up.
	l.SetHighWatermark(l.LogEndOffset())
	if _, err := l.DeleteRecordsBefore(4); err != nil {
		t.Fatal(err)
	}
	want[0].StartOffset = 4
	checkEpochs(t, l, want)
	// The cache is persisted: it survives both a clean close and a crash.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := mustOpen(t, dir, Config{SegmentBytes: 2_000})
	checkEpochs(t, r, want)
	crash(t, r)
	r2 := mustOpen(t, dir, Config{SegmentBytes: 2_000})
	checkEpochs(t, r2, want)
}

func setEpoch(b []byte, epoch int32) {
	b[12], b[13], b[14], b[15] = byte(epoch>>24), byte(epoch>>16), byte(epoch>>8), byte(epoch)
}

func checkEpochs(t *testing.T, l *Log, want []epochcache.Entry) {
	t.Helper()
	got := l.EpochEntries()
	if len(got) != len(want) {
		t.Fatalf("epochs %+v, want %+v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("epochs %+v, want %+v", got, want)
		}
	}
}
