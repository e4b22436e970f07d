package producerstate

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/sluice-mq/sluice/storage/vfs"
)

// sampleState has a plain producer with five retained batches, one
// with an open transaction and one that only saw a marker.
func sampleState() *State {
	s := New(Config{}, 0)
	for i := range int32(7) {
		s.Apply(hdr(1, 3, i*10, 10, int64(i)*10), nil)
	}
	s.Apply(txnHdr(2, 0, 0, 1, 70), nil)
	s.Apply(markerHdr(3, 4, 71), &Marker{CoordinatorEpoch: 2, Timestamp: 9})
	return s
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := sampleState()
	b := EncodeSnapshot(s.Entries())
	entries, err := DecodeSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(entries, s.Entries(), func(a, b Entry) bool { return a == b }) {
		t.Fatalf("decoded %+v, want %+v", entries, s.Entries())
	}
	loaded := FromEntries(Config{}, 72, entries, 0)
	if first, ok := loaded.FirstUndecidedOffset(); !ok || first != 70 {
		t.Fatalf("open transaction not restored: %d %v", first, ok)
	}
	if !bytes.Equal(EncodeSnapshot(loaded.Entries()), b) {
		t.Fatal("re-encoding a loaded snapshot differs")
	}
	if _, err := DecodeSnapshot(EncodeSnapshot(nil)); err != nil {
		t.Fatalf("empty snapshot: %v", err)
	}
}

// Every torn prefix and every flipped byte of a snapshot is refused.
func TestSnapshotDamageIsDetected(t *testing.T) {
	b := EncodeSnapshot(sampleState().Entries())
	for n := range len(b) {
		if _, err := DecodeSnapshot(b[:n]); !errors.Is(err, ErrCorruptSnapshot) {
			t.Fatalf("torn at %d of %d: %v", n, len(b), err)
		}
	}
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x20
		if _, err := DecodeSnapshot(c); !errors.Is(err, ErrCorruptSnapshot) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	if _, err := DecodeSnapshot(append(bytes.Clone(b), 0)); !errors.Is(err, ErrCorruptSnapshot) {
		t.Fatalf("trailing byte: %v", err)
	}
}

func TestWriteSnapshotFiles(t *testing.T) {
	dir := t.TempDir()
	s := sampleState()
	for _, off := range []int64{0, 40, 72} {
		if err := WriteSnapshot(nil, dir, off, s.Entries()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "00000000000000000040.snapshot")); err != nil {
		t.Fatalf("snapshot file name: %v", err)
	}
	got, err := ListSnapshots(dir)
	if err != nil || !slices.Equal(got, []int64{0, 40, 72}) {
		t.Fatalf("snapshots %v %v", got, err)
	}
	if n, err := DeleteSnapshotsBefore(nil, dir, 40); n != 1 || err != nil {
		t.Fatalf("deleted %d before 40: %v", n, err)
	}
	if n, err := DeleteSnapshotsAbove(nil, dir, 40); n != 1 || err != nil {
		t.Fatalf("deleted %d above 40: %v", n, err)
	}
	if got, _ := ListSnapshots(dir); !slices.Equal(got, []int64{40}) {
		t.Fatalf("left %v", got)
	}

	// A write whose fsync fails leaves neither the file nor its
	// temporary; the snapshot already there stays.
	fsys := vfs.NewFaulty(vfs.OS{})
	fsys.Add(vfs.Rule{Op: vfs.OpSync, Pattern: "*.snapshot.tmp", Err: syscall.EIO})
	if err := WriteSnapshot(fsys, dir, 80, s.Entries()); !errors.Is(err, syscall.EIO) {
		t.Fatalf("failed fsync: %v", err)
	}
	des, _ := os.ReadDir(dir)
	if len(des) != 1 || des[0].Name() != SnapshotName(40) {
		t.Fatalf("after a failed write the dir holds %v", des)
	}
}
