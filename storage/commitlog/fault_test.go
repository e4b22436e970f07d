package commitlog

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/vfs"
)

// failures records what a log reports to its failure handler.
type failures struct {
	mu   sync.Mutex
	seen []*FailedError
}

func (f *failures) option() Option {
	return WithFailureHandler(func(e *FailedError) {
		f.mu.Lock()
		f.seen = append(f.seen, e)
		f.mu.Unlock()
	})
}

func (f *failures) list() []*FailedError {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*FailedError(nil), f.seen...)
}

// one asserts exactly one failure was reported, by op, and returns it.
func (f *failures) one(t *testing.T, op string) *FailedError {
	t.Helper()
	seen := f.list()
	if len(seen) != 1 {
		t.Fatalf("failure handler called %d times (%v); want once", len(seen), seen)
	}
	if seen[0].Op != op {
		t.Fatalf("reported failure %v; want op %q", seen[0], op)
	}
	return seen[0]
}

// A full disk fails the append with ENOSPC, fails the log for later
// writes, tells the owner once, and leaves no partial batch: a reopen on
// a healthy disk reads every batch appended before and takes new appends.
func TestDiskFullFailsLogWithoutCorruption(t *testing.T) {
	dir := t.TempDir()
	fsys := vfs.NewFaulty(nil)
	var fs failures
	l, err := Open(dir, Config{}, WithFS(fsys), fs.option())
	if err != nil {
		t.Fatal(err)
	}
	before := appendN(t, l, 20, 3, 100, 0)
	fsys.Add(vfs.Rule{Op: vfs.OpWrite, Pattern: "*.log", AfterBytes: 70, Err: syscall.ENOSPC})
	leo := l.LogEndOffset()
	_, err = l.Append(makeBatch(0, 3, 100, tsBase+100), 0)
	var fe *FailedError
	if !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, ErrLogFailed) || !errors.As(err, &fe) || !fe.DiskFull() {
		t.Fatalf("Append on a full disk = %v; want a *FailedError wrapping ENOSPC", err)
	}
	if got := fs.one(t, "append"); got != fe || got.Dir != dir {
		t.Fatalf("reported %v; want the append's failure in %s", got, dir)
	}
	if l.LogEndOffset() != leo {
		t.Fatalf("LEO moved to %d after a failed append; want %d", l.LogEndOffset(), leo)
	}
	if st, err := os.Stat(l.segments[len(l.segments)-1].Path()); err != nil || st.Size() != l.active().Size() {
		t.Fatalf("active segment file %v, %v; want the partial write cut back to %d bytes", st.Size(), err, l.active().Size())
	}
	fsys.Clear()
	if _, err := l.Append(makeBatch(0, 1, 10, tsBase+101), 0); !errors.Is(err, ErrLogFailed) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append after a write error = %v; want the log's failure", err)
	}
	if err := l.Failed(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Failed() = %v", err)
	}
	checkReads(t, l, before)
	_ = l.Close()
	if _, err := os.Stat(filepath.Join(dir, CleanShutdownFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed log left a clean-shutdown marker (%v): the next open would skip recovery", err)
	}
	if len(fs.list()) != 1 {
		t.Fatalf("failure reported %d times", len(fs.list()))
	}

	r := mustOpen(t, dir, Config{})
	if r.OpenStats().Clean {
		t.Fatal("reopen after a failure skipped recovery")
	}
	if r.LogEndOffset() != leo {
		t.Fatalf("reopened LEO %d; want %d", r.LogEndOffset(), leo)
	}
	checkReads(t, r, before)
	if hs := readAll(t, r, 0, 1<<20); len(hs) != len(before) {
		t.Fatalf("reopened log holds %d batches; want %d", len(hs), len(before))
	}
	after := appendN(t, r, 2, 1, 10, 200)
	checkReads(t, r, append(before, after...))
}

// With FlushAlways an fsync error is returned by Append, wraps
// ErrLogFailed and the cause, is reported once and stops further writes;
// the data written before the failed fsync is still readable after a
// reopen.
func TestFsyncErrorFailsLog(t *testing.T) {
	dir := t.TempDir()
	fsys := vfs.NewFaulty(nil)
	var fs failures
	l, err := Open(dir, Config{FlushPolicy: FlushAlways}, WithFS(fsys), fs.option())
	if err != nil {
		t.Fatal(err)
	}
	before := appendN(t, l, 5, 2, 50, 0)
	fsys.Add(vfs.Rule{Op: vfs.OpSync, Err: syscall.EIO})
	if _, err := l.Append(makeBatch(0, 1, 10, tsBase+50), 0); !errors.Is(err, ErrLogFailed) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Append with a failing fsync = %v; want ErrLogFailed wrapping EIO", err)
	}
	fs.one(t, "fsync")
	fsys.Clear()
	if _, err := l.Append(makeBatch(0, 1, 10, tsBase+51), 0); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("Append after an fsync error = %v; want ErrLogFailed", err)
	}
	done := make(chan error, 1)
	l.AwaitDurable(l.LogEndOffset()-1, func(err error) { done <- err })
	if err := <-done; !errors.Is(err, syscall.EIO) {
		t.Fatalf("AwaitDurable after an fsync error = %v; want the failure", err)
	}
	_ = l.Close()
	r := mustOpen(t, dir, Config{FlushPolicy: FlushAlways})
	checkReads(t, r, before)
}

// With the interval policy the Flusher's fsync fails: the waiting
// AwaitDurable calls get the failure and the handler hears of it from the
// Flusher's goroutine.
func TestFlusherFsyncErrorReported(t *testing.T) {
	fsys := vfs.NewFaulty(nil)
	var fs failures
	f := NewFlusher(time.Millisecond)
	t.Cleanup(f.Close)
	l := mustOpen(t, t.TempDir(), Config{FlushPolicy: FlushInterval}, WithFS(fsys), WithFlusher(f), fs.option())
	fsys.Add(vfs.Rule{Op: vfs.OpSync, Pattern: "*.log", Err: syscall.EIO})
	info, err := l.Append(makeBatch(0, 2, 10, tsBase), 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	l.AwaitDurable(info.LastOffset, func(err error) { done <- err })
	select {
	case err := <-done:
		if !errors.Is(err, ErrLogFailed) || !errors.Is(err, syscall.EIO) {
			t.Fatalf("AwaitDurable = %v; want the fsync failure", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("AwaitDurable never completed")
	}
	fs.one(t, "fsync")
	if l.RecoveryPoint() != 0 {
		t.Fatalf("recovery point %d advanced over a failed fsync", l.RecoveryPoint())
	}
}

// A failing rename of the offsets checkpoint fails the log like a write
// error: Flush reports it, the previous checkpoint stays, appends are
// refused, and a reopen recovers everything appended.
func TestCheckpointRenameErrorFailsLog(t *testing.T) {
	dir := t.TempDir()
	fsys := vfs.NewFaulty(nil)
	var fs failures
	l, err := Open(dir, Config{}, WithFS(fsys), fs.option())
	if err != nil {
		t.Fatal(err)
	}
	before := appendN(t, l, 4, 2, 30, 0)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	more := appendN(t, l, 3, 2, 30, 10)
	fsys.Add(vfs.Rule{Op: vfs.OpRename, Pattern: OffsetsCheckpointFile + ".*", Err: syscall.EIO})
	if err := l.Flush(); !errors.Is(err, ErrLogFailed) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Flush with a failing rename = %v; want the log failed by EIO", err)
	}
	fs.one(t, "checkpoint")
	if _, err := l.Append(makeBatch(0, 1, 10, tsBase+20), 0); !errors.Is(err, ErrLogFailed) {
		t.Fatalf("Append after the failure = %v", err)
	}
	fsys.Clear()
	_ = l.Close()
	r := mustOpen(t, dir, Config{})
	checkReads(t, r, append(before, more...))
}

// A roll that cannot create the new segment fails the log; nothing
// appended before is lost.
func TestRollCreateErrorFailsLog(t *testing.T) {
	dir := t.TempDir()
	fsys := vfs.NewFaulty(nil)
	var fs failures
	l, err := Open(dir, Config{SegmentBytes: 1 << 20}, WithFS(fsys), fs.option())
	if err != nil {
		t.Fatal(err)
	}
	before := appendN(t, l, 3, 2, 30, 0)
	// The new segment's first index write fails: the disk is full.
	fsys.Add(vfs.Rule{Op: vfs.OpWrite, Pattern: "*.timeindex", Err: syscall.ENOSPC})
	if err := l.Roll(); !errors.Is(err, ErrLogFailed) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Roll on a full disk = %v", err)
	}
	fs.one(t, "roll")
	fsys.Clear()
	_ = l.Close()
	r := mustOpen(t, dir, Config{})
	checkReads(t, r, before)
}

// Fail, as a node calls it for the other logs of a failed directory,
// refuses writes, is reported, and closes without a clean-shutdown
// marker so the next open verifies the log.
func TestFailByOwner(t *testing.T) {
	dir := t.TempDir()
	var fs failures
	l, err := Open(dir, Config{}, fs.option())
	if err != nil {
		t.Fatal(err)
	}
	before := appendN(t, l, 3, 2, 30, 0)
	cause := errors.New("another log of the directory failed")
	if err := l.Fail(cause); !errors.Is(err, cause) || !errors.Is(err, ErrLogFailed) {
		t.Fatalf("Fail = %v", err)
	}
	if err := l.Fail(errors.New("again")); !errors.Is(err, cause) {
		t.Fatalf("second Fail = %v; want the first failure kept", err)
	}
	fs.one(t, "failed by owner")
	if _, err := l.Append(makeBatch(0, 1, 10, tsBase+9), 0); !errors.Is(err, cause) {
		t.Fatalf("Append after Fail = %v", err)
	}
	_ = l.Close()
	r := mustOpen(t, dir, Config{})
	if r.OpenStats().Clean {
		t.Fatal("a failed log was closed clean")
	}
	checkReads(t, r, before)
}

// An Open that meets an I/O error reports it to the failure handler.
func TestOpenErrorReported(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var fs failures
	if _, err := Open(file, Config{}, fs.option()); !errors.Is(err, ErrBadDir) {
		t.Fatalf("Open(file) = %v; want ErrBadDir", err)
	}
	if got := fs.one(t, "open"); !errors.Is(got, ErrBadDir) {
		t.Fatalf("reported %v", got)
	}
}
