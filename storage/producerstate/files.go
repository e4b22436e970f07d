package producerstate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-mq/sluice/storage/vfs"
)

// SnapshotSuffix ends a snapshot file's name: the 20-digit offset it
// describes the log below, then ".snapshot" (Kafka's naming).
const SnapshotSuffix = ".snapshot"

// tempSuffix ends a snapshot being written.
const tempSuffix = ".tmp"

// SnapshotName is the file name of the snapshot at offset.
func SnapshotName(offset int64) string { return fmt.Sprintf("%020d%s", offset, SnapshotSuffix) }

// parseSnapshotName returns the offset of a snapshot file name.
func parseSnapshotName(name string) (int64, bool) {
	digits, ok := strings.CutSuffix(name, SnapshotSuffix)
	if !ok || len(digits) != 20 || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	off, err := strconv.ParseInt(digits, 10, 64)
	return off, err == nil
}

// WriteSnapshot writes entries as the snapshot at offset in dir: to a
// temporary file, fsynced, renamed into place, directory fsynced. On
// error no snapshot file is left at that name (an older one there is
// kept). fsys is the file layer (the operating system when nil).
func WriteSnapshot(fsys vfs.FS, dir string, offset int64, entries []Entry) (err error) {
	fsys = vfs.Default(fsys)
	path := filepath.Join(dir, SnapshotName(offset))
	tmp := path + tempSuffix
	f, err := fsys.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("producerstate: write snapshot %d: %w", offset, err)
	}
	done := false
	defer func() {
		if !done {
			// Best effort: the write error is the one worth reporting.
			_ = f.Close()
			_ = fsys.Remove(tmp)
		}
	}()
	if _, err := f.Write(EncodeSnapshot(entries)); err != nil {
		return fmt.Errorf("producerstate: write snapshot %d: %w", offset, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("producerstate: sync snapshot %d: %w", offset, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("producerstate: close snapshot %d: %w", offset, err)
	}
	if err := fsys.Rename(tmp, path); err != nil {
		return fmt.Errorf("producerstate: rename snapshot %d: %w", offset, err)
	}
	done = true
	if err := syncDir(fsys, dir); err != nil {
		return fmt.Errorf("producerstate: sync dir after snapshot %d: %w", offset, err)
	}
	return nil
}

// ReadSnapshot reads the snapshot at offset in dir. Damage gives an error
// wrapping ErrCorruptSnapshot.
func ReadSnapshot(dir string, offset int64) ([]Entry, error) {
	b, err := os.ReadFile(filepath.Join(dir, SnapshotName(offset)))
	if err != nil {
		return nil, fmt.Errorf("producerstate: read snapshot %d: %w", offset, err)
	}
	entries, err := DecodeSnapshot(b)
	if err != nil {
		return nil, fmt.Errorf("snapshot %d: %w", offset, err)
	}
	return entries, nil
}

// ListSnapshots returns the offsets of the snapshots in dir, ascending.
func ListSnapshots(dir string) ([]int64, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("producerstate: list snapshots: %w", err)
	}
	var out []int64
	for _, de := range des {
		if off, ok := parseSnapshotName(de.Name()); ok && de.Type().IsRegular() {
			out = append(out, off)
		}
	}
	slices.Sort(out)
	return out, nil
}

// DeleteSnapshots removes the snapshots in dir whose offset del selects,
// and temporary files of interrupted writes, then fsyncs the directory
// if anything went. It returns how many snapshots it removed.
func DeleteSnapshots(fsys vfs.FS, dir string, del func(offset int64) bool) (int, error) {
	fsys = vfs.Default(fsys)
	des, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("producerstate: delete snapshots: %w", err)
	}
	n, removed := 0, false
	for _, de := range des {
		name := de.Name()
		off, isSnap := parseSnapshotName(name)
		_, isTemp := parseSnapshotName(strings.TrimSuffix(name, tempSuffix))
		isTemp = isTemp && strings.HasSuffix(name, tempSuffix)
		if !(isSnap && del(off)) && !isTemp {
			continue
		}
		if err := fsys.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, fmt.Errorf("producerstate: delete %s: %w", name, err)
		}
		removed = true
		if isSnap {
			n++
		}
	}
	if removed {
		if err := syncDir(fsys, dir); err != nil {
			return n, fmt.Errorf("producerstate: sync dir: %w", err)
		}
	}
	return n, nil
}

// DeleteSnapshotsBefore removes the snapshots below offset: retention
// deleted the segments they lead up to.
func DeleteSnapshotsBefore(fsys vfs.FS, dir string, offset int64) (int, error) {
	return DeleteSnapshots(fsys, dir, func(o int64) bool { return o < offset })
}

// DeleteSnapshotsAbove removes the snapshots above offset: a truncation
// to offset removes records they describe.
func DeleteSnapshotsAbove(fsys vfs.FS, dir string, offset int64) (int, error) {
	return DeleteSnapshots(fsys, dir, func(o int64) bool { return o > offset })
}

func syncDir(fsys vfs.FS, dir string) error {
	d, err := fsys.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close() // the sync error is the one to report
		return err
	}
	return d.Close()
}
