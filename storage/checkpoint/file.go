package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluice-mq/sluice/storage/vfs"
)

// errNotExist is fs.ErrNotExist; named so ErrNotExist can wrap it.
var errNotExist = fs.ErrNotExist

// tempSuffix ends the name of every temporary file Write creates.
const tempSuffix = ".tmp"

// Write atomically replaces the file at path with entries, in order. When it
// returns nil the new content is durable (file and directory fsynced). On
// error the previous content, if any, is left untouched and the temporary
// file is removed. Concurrent Writes to different paths are safe; concurrent
// Writes to the same path leave one of the contents in place.
func Write(path string, entries []Entry) error { return WriteFS(nil, path, entries) }

// WriteFS is Write through the file layer fsys (the operating system when
// nil), so tests can fail its write, fsync or rename.
func WriteFS(fsys vfs.FS, path string, entries []Entry) error {
	b, err := Encode(entries)
	if err != nil {
		return err
	}
	return writeAtomic(vfs.Default(fsys), path, b)
}

// Read returns the entries stored at path. A missing file gives an error
// wrapping ErrNotExist; invalid content one wrapping ErrCorruptCheckpoint.
func Read(path string) ([]Entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read %s: %w", path, ErrNotExist)
		}
		return nil, fmt.Errorf("checkpoint: read %s: %w", path, err)
	}
	entries, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return entries, nil
}

// WriteOffsets atomically replaces the file at path with offsets, stored in
// key order so equal maps give equal files.
func WriteOffsets(path string, offsets map[string]int64) error {
	return WriteOffsetsFS(nil, path, offsets)
}

// WriteOffsetsFS is WriteOffsets through the file layer fsys (the
// operating system when nil).
func WriteOffsetsFS(fsys vfs.FS, path string, offsets map[string]int64) error {
	keys := make([]string, 0, len(offsets))
	for k := range offsets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	entries := make([]Entry, len(keys))
	for i, k := range keys {
		entries[i] = Entry{Key: k, Value: offsets[k]}
	}
	return WriteFS(fsys, path, entries)
}

// ReadOffsets reads a file written by WriteOffsets. Errors are those of Read,
// plus ErrDuplicateKey (which is an ErrCorruptCheckpoint) when a key repeats.
func ReadOffsets(path string) (map[string]int64, error) {
	entries, err := Read(path)
	if err != nil {
		return nil, err
	}
	offsets := make(map[string]int64, len(entries))
	for _, e := range entries {
		if _, dup := offsets[e.Key]; dup {
			return nil, fmt.Errorf("read %s: %w %q", path, ErrDuplicateKey, e.Key)
		}
		offsets[e.Key] = e.Value
	}
	return offsets, nil
}

// CleanTemp removes temporary files a crashed Write to path may have left
// behind. Call it when opening the owner of path, before any Write to it.
func CleanTemp(path string) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("checkpoint: clean %s: %w", path, err)
	}
	for _, de := range des {
		if isTempFor(de.Name(), base) && de.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, de.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("checkpoint: clean %s: %w", path, err)
			}
		}
	}
	return nil
}

// isTempFor reports whether name is a temporary file of Write for base:
// "<base>.<random>.tmp".
func isTempFor(name, base string) bool {
	mid, ok := strings.CutPrefix(name, base+".")
	if !ok {
		return false
	}
	random, ok := strings.CutSuffix(mid, tempSuffix)
	return ok && random != "" && !strings.Contains(random, ".")
}

// tempSeq makes temporary names unique within the process; the time
// part makes them unlikely to collide with a crashed process's leftovers,
// and O_EXCL makes a collision a retry, not an overwrite.
var tempSeq atomic.Uint64

// createTemp creates "<base>.<random>.tmp" in dir, like os.CreateTemp.
func createTemp(fsys vfs.FS, dir, base string) (vfs.File, string, error) {
	for range 100 {
		n := tempSeq.Add(1) + uint64(time.Now().UnixNano())
		name := filepath.Join(dir, base+"."+strconv.FormatUint(n, 36)+tempSuffix)
		f, err := fsys.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("checkpoint: no unused temporary name in %s", dir)
}

func writeAtomic(fsys vfs.FS, path string, b []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, tmp, err := createTemp(fsys, dir, base)
	if err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", path, err)
	}
	renamed := false
	defer func() {
		if err != nil && !renamed {
			// Best effort: the file may already be closed or renamed; the
			// write error is the one worth reporting.
			_ = f.Close()
			_ = fsys.Remove(tmp)
		}
	}()
	if _, err = f.Write(b); err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("checkpoint: sync %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("checkpoint: close %s: %w", path, err)
	}
	if err = fsys.Rename(tmp, path); err != nil {
		return fmt.Errorf("checkpoint: rename %s: %w", path, err)
	}
	renamed = true
	if err = SyncDir(fsys, dir); err != nil {
		// The new content is in place but may not survive a power loss.
		return fmt.Errorf("checkpoint: sync dir of %s: %w", path, err)
	}
	return nil
}

// SyncDir fsyncs directory dir through fsys (the operating system when
// nil), so entries created, renamed or removed in it are durable.
func SyncDir(fsys vfs.FS, dir string) error {
	d, err := vfs.Default(fsys).OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close() // the sync error is the one to report
		return err
	}
	return d.Close()
}
