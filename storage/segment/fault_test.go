package segment

import (
	"bytes"
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/sluice-mq/sluice/storage/vfs"
)

// A write that fails part-way (a full disk) leaves the segment as it was:
// the partial bytes are truncated back, later appends and a reopen see a
// valid log ending at the last whole batch.
func TestAppendWriteFaultLeavesValidSegment(t *testing.T) {
	dir := t.TempDir()
	fsys := vfs.NewFaulty(nil)
	s, err := Create(dir, 0, Options{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	first := makeBatch(0, 3, 100, 10)
	if err := s.Append(first); err != nil {
		t.Fatal(err)
	}
	fsys.Add(vfs.Rule{Op: vfs.OpWrite, Pattern: "*" + LogSuffix, AfterBytes: 50, Err: syscall.ENOSPC})
	if err := s.Append(makeBatch(3, 2, 200, 20)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk = %v; want ENOSPC", err)
	}
	if fsys.Fired() == 0 {
		t.Fatal("the write rule never fired")
	}
	if s.Size() != int64(len(first)) || s.NextOffset() != 3 {
		t.Fatalf("after failed append: size %d next %d; want %d, 3", s.Size(), s.NextOffset(), len(first))
	}
	st, err := os.Stat(s.path(LogSuffix))
	if err != nil || st.Size() != int64(len(first)) {
		t.Fatalf("log file size = %v, %v; want the partial write truncated to %d", st.Size(), err, len(first))
	}
	fsys.Clear()
	second := makeBatch(3, 2, 200, 20)
	if err := s.Append(second); err != nil {
		t.Fatalf("append after the disk recovered: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir, 0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	if _, err := r.Recover(1<<20, nil); err != nil {
		t.Fatal(err)
	}
	got, err := r.Read(0, 1<<20, r.NextOffset())
	if err != nil {
		t.Fatal(err)
	}
	if want := append(append([]byte{}, first...), second...); !bytes.Equal(got, want) {
		t.Fatalf("reopened segment holds %d bytes; want exactly the two whole batches (%d)", len(got), len(want))
	}
}

// An fsync error is returned to the caller and the written batch is not
// reported as synced; a later successful Sync covers it.
func TestSyncFaultIsReported(t *testing.T) {
	dir := t.TempDir()
	fsys := vfs.NewFaulty(nil)
	s, err := Create(dir, 0, Options{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if err := s.Append(makeBatch(0, 1, 10, 1)); err != nil {
		t.Fatal(err)
	}
	fsys.Add(vfs.Rule{Op: vfs.OpSync, Err: syscall.EIO})
	if err := s.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Sync = %v; want EIO", err)
	}
	fsys.Clear()
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
}
