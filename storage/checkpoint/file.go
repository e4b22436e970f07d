package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
func Write(path string, entries []Entry) error {
	b, err := Encode(entries)
	if err != nil {
		return err
	}
	return writeAtomic(path, b)
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
	keys := make([]string, 0, len(offsets))
	for k := range offsets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	entries := make([]Entry, len(keys))
	for i, k := range keys {
		entries[i] = Entry{Key: k, Value: offsets[k]}
	}
	return Write(path, entries)
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

func writeAtomic(path string, b []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, base+".*"+tempSuffix)
	if err != nil {
		return fmt.Errorf("checkpoint: write %s: %w", path, err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if err != nil && !renamed {
			// Best effort: the file may already be closed or renamed; the
			// write error is the one worth reporting.
			_ = f.Close()
			_ = os.Remove(tmp)
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
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("checkpoint: rename %s: %w", path, err)
	}
	renamed = true
	if err = syncDir(dir); err != nil {
		// The new content is in place but may not survive a power loss.
		return fmt.Errorf("checkpoint: sync dir of %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close() // the sync error is the one to report
		return err
	}
	return d.Close()
}
