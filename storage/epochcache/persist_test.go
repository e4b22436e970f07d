package epochcache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-mq/sluice/storage/checkpoint"
)

func TestCacheSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leader-epoch-checkpoint")
	for _, entries := range [][]Entry{nil, {{0, 0}}, {{1, 0}, {3, 10}, {2147483647, 1 << 40}}} {
		c := mustCache(t, entries...)
		if err := c.Save(path); err != nil {
			t.Fatalf("Save: %v", err)
		}
		loaded, err := Load(path)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		assertEntries(t, loaded, entries)
	}
}

func TestCacheLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent"))
	if !errors.Is(err, checkpoint.ErrNotExist) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load = %v, want checkpoint.ErrNotExist", err)
	}
}

func TestCacheLoadRejectsInvalid(t *testing.T) {
	cases := map[string][]checkpoint.Entry{
		"non-numeric key":     {{Key: "leader", Value: 0}},
		"non-canonical key":   {{Key: "+1", Value: 0}},
		"key beyond int32":    {{Key: "2147483648", Value: 0}},
		"epochs out of order": {{Key: "2", Value: 0}, {Key: "1", Value: 5}},
		"offsets repeated":    {{Key: "1", Value: 5}, {Key: "2", Value: 5}},
		"negative offset":     {{Key: "1", Value: -1}},
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "leader-epoch-checkpoint")
			if err := checkpoint.Write(path, raw); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(path); !errors.Is(err, checkpoint.ErrCorruptCheckpoint) {
				t.Fatalf("Load = %v, want ErrCorruptCheckpoint", err)
			}
		})
	}
	t.Run("torn file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "leader-epoch-checkpoint")
		if err := mustCache(t, Entry{1, 0}, Entry{2, 7}).Save(path); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b[:len(b)-3], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); !errors.Is(err, checkpoint.ErrCorruptCheckpoint) {
			t.Fatalf("Load = %v, want ErrCorruptCheckpoint", err)
		}
	})
}
