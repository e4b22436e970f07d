package epochcache

import (
	"fmt"
	"strconv"

	"github.com/sluice-mq/sluice/storage/checkpoint"
	"github.com/sluice-mq/sluice/storage/vfs"
)

// Load reads a cache saved by Save. A missing file gives an error wrapping
// checkpoint.ErrNotExist (start with New, or rebuild from the log); invalid
// content one wrapping checkpoint.ErrCorruptCheckpoint.
func Load(path string) (*Cache, error) {
	raw, err := checkpoint.Read(path)
	if err != nil {
		return nil, fmt.Errorf("epochcache: load: %w", err)
	}
	entries := make([]Entry, len(raw))
	for i, e := range raw {
		epoch, err := strconv.ParseInt(e.Key, 10, 32)
		// Only the canonical decimal form Save writes is accepted.
		if err != nil || strconv.FormatInt(epoch, 10) != e.Key {
			return nil, fmt.Errorf("epochcache: load %s: %w: entry %d key %q is not an epoch",
				path, checkpoint.ErrCorruptCheckpoint, i, e.Key)
		}
		entries[i] = Entry{Epoch: int32(epoch), StartOffset: e.Value}
	}
	c, err := FromEntries(entries)
	if err != nil {
		return nil, fmt.Errorf("epochcache: load %s: %w: %w", path, checkpoint.ErrCorruptCheckpoint, err)
	}
	return c, nil
}

// Save atomically replaces the file at path with the cache's entries.
func (c *Cache) Save(path string) error { return c.SaveFS(nil, path) }

// SaveFS is Save through the file layer fsys (the operating system when
// nil).
func (c *Cache) SaveFS(fsys vfs.FS, path string) error {
	raw := make([]checkpoint.Entry, len(c.entries))
	for i, e := range c.entries {
		raw[i] = checkpoint.Entry{Key: strconv.FormatInt(int64(e.Epoch), 10), Value: e.StartOffset}
	}
	if err := checkpoint.WriteFS(fsys, path, raw); err != nil {
		return fmt.Errorf("epochcache: save: %w", err)
	}
	return nil
}
