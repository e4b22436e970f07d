package commitlog

import (
	"testing"
	"time"
)

// TestSyncHandoffAlways: with WithSyncHandoff a FlushAlways Append
// returns before the fsync, which the Flusher runs at once; AwaitDurable
// reports it.
func TestSyncHandoffAlways(t *testing.T) {
	entered, release := make(chan struct{}, 8), make(chan struct{})
	hook := WithBeforeSync(func() {
		entered <- struct{}{}
		<-release
	})
	f := NewFlusher(time.Hour) // a window that would never end: always skips it
	t.Cleanup(f.Close)
	l := mustOpen(t, t.TempDir(), Config{FlushPolicy: FlushAlways}, WithFlusher(f), WithSyncHandoff(), hook)
	t.Cleanup(func() { close(release) })
	appended := make(chan AppendInfo, 1)
	go func() {
		info, err := l.Append(makeBatch(0, 3, 100, tsBase), 0)
		if err != nil {
			info.LastOffset = -1
		}
		appended <- info
	}()
	var info AppendInfo
	select {
	case info = <-appended:
	case <-time.After(10 * time.Second):
		t.Fatal("Append waited for the fsync")
	}
	if info.LastOffset != 2 {
		t.Fatalf("append: %+v", info)
	}
	durable := make(chan error, 1)
	l.AwaitDurable(info.LastOffset, func(err error) { durable <- err })
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the Flusher started no fsync")
	}
	select {
	case err := <-durable:
		t.Fatalf("durable before the fsync ended: %v", err)
	default:
	}
	release <- struct{}{}
	select {
	case err := <-durable:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("AwaitDurable not called")
	}
	if l.RecoveryPoint() != 3 {
		t.Fatalf("recovery point %d", l.RecoveryPoint())
	}
}

// TestCheckpointAfterTruncateBelowRecoveryPoint: a truncation below the
// checkpointed recovery point rewrites the checkpoint at once, so a crash
// cannot trust what is appended at the cut next.
func TestCheckpointAfterTruncateBelowRecoveryPoint(t *testing.T) {
	dir := t.TempDir()
	f := NewFlusher(0, WithCheckpointInterval(2*time.Millisecond))
	t.Cleanup(f.Close)
	l := mustOpen(t, dir, Config{FlushPolicy: FlushInterval}, WithFlusher(f))
	batches := appendN(t, l, 10, 2, 100, 0)
	waitFor(t, func() bool { return checkpointedRecoveryPoint(t, dir) == batches[9].last+1 })
	f.Close() // no periodic checkpoint from here on
	if err := l.TruncateTo(batches[4].first); err != nil {
		t.Fatal(err)
	}
	if rp := checkpointedRecoveryPoint(t, dir); rp > batches[4].first {
		t.Fatalf("checkpointed recovery point %d after truncating to %d", rp, batches[4].first)
	}
	if st := f.CheckpointStats(); st.Written == 0 || st.Failed != 0 {
		t.Fatalf("checkpoint stats %+v", st)
	}
}
