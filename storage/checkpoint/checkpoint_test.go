package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/sluice-mq/sluice/storage/vfs"
)

func sampleEntries() []Entry {
	return []Entry{
		{Key: "high_watermark", Value: 1042},
		{Key: "recovery_point", Value: 1000},
		{Key: "log_start_offset", Value: 0},
		{Key: "", Value: -1},
		{Key: "min", Value: math.MinInt64},
		{Key: "max", Value: math.MaxInt64},
		{Key: "high_watermark", Value: 7}, // repeated keys keep their order
	}
}

func TestCheckpointRoundTrip(t *testing.T) {
	cases := map[string][]Entry{
		"empty":   {},
		"one":     {{Key: "log_start_offset", Value: 5}},
		"many":    sampleEntries(),
		"longKey": {{Key: strings.Repeat("k", MaxKeyLen), Value: 3}},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cp")
			if err := Write(path, entries); err != nil {
				t.Fatalf("Write: %v", err)
			}
			got, err := Read(path)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if got == nil || !reflect.DeepEqual(got, entries) {
				t.Fatalf("Read = %v, want %v", got, entries)
			}
		})
	}
}

func TestCheckpointOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cp")
	for i := range int64(5) {
		want := []Entry{{Key: "hw", Value: i}}
		if err := Write(path, want); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
		got, err := Read(path)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Read after write %d = %v, %v", i, got, err)
		}
	}
	assertNoTemps(t, filepath.Dir(path))
}

func TestCheckpointKeyTooLong(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cp")
	err := Write(path, []Entry{{Key: strings.Repeat("k", MaxKeyLen+1)}})
	if !errors.Is(err, ErrKeyTooLong) {
		t.Fatalf("Write = %v, want ErrKeyTooLong", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("failed Write created the file: %v", err)
	}
	assertNoTemps(t, filepath.Dir(path))
}

func TestCheckpointReadMissing(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "absent"))
	if !errors.Is(err, ErrNotExist) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read = %v, want ErrNotExist wrapping fs.ErrNotExist", err)
	}
	if errors.Is(err, ErrCorruptCheckpoint) {
		t.Fatalf("missing file reported as corrupt: %v", err)
	}
	if _, err := ReadOffsets(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, ErrNotExist) {
		t.Fatalf("ReadOffsets = %v, want ErrNotExist", err)
	}
}

func TestCheckpointCorruptByteAnywhere(t *testing.T) {
	good, err := Encode(sampleEntries())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cp")
	for i := range good {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			bad := append([]byte(nil), good...)
			bad[i] ^= flip
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := Read(path)
			if !errors.Is(err, ErrCorruptCheckpoint) || got != nil {
				t.Fatalf("byte %d ^ %#x: Read = %v, %v; want nil, ErrCorruptCheckpoint", i, flip, got, err)
			}
		}
	}
}

func TestCheckpointTruncatedAtEveryLength(t *testing.T) {
	good, err := Encode(sampleEntries())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cp")
	for n := 0; n < len(good); n++ {
		if err := os.WriteFile(path, good[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Read(path)
		if !errors.Is(err, ErrCorruptCheckpoint) || got != nil {
			t.Fatalf("truncated to %d of %d: Read = %v, %v; want nil, ErrCorruptCheckpoint", n, len(good), got, err)
		}
	}
}

func TestCheckpointTrailingBytes(t *testing.T) {
	good, err := Encode(sampleEntries())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(append(good, 0)); !errors.Is(err, ErrCorruptCheckpoint) {
		t.Fatalf("Decode with trailing byte = %v, want ErrCorruptCheckpoint", err)
	}
}

// A crash between creating the temporary file and the rename leaves the
// old content readable and a temporary file that CleanTemp removes.
func TestCheckpointLeftoverTempIgnoredAndCleaned(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "offsets.checkpoint")
	want := map[string]int64{"high_watermark": 10, "recovery_point": 8}
	if err := WriteOffsets(path, want); err != nil {
		t.Fatal(err)
	}
	torn, err := Encode([]Entry{{Key: "high_watermark", Value: 99}})
	if err != nil {
		t.Fatal(err)
	}
	leftovers := []string{"offsets.checkpoint.123456.tmp", "offsets.checkpoint.abc.tmp"}
	for _, name := range leftovers {
		if err := os.WriteFile(filepath.Join(dir, name), torn[:len(torn)/2], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Files that only look similar belong to someone else.
	others := []string{"offsets.checkpoint", "other.checkpoint.1.tmp", "offsets.checkpoint.tmp", "offsets.checkpoint.1.2.tmp"}
	for _, name := range others[1:] {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	got, err := ReadOffsets(path)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadOffsets with leftovers = %v, %v; want %v", got, err, want)
	}
	if err := CleanTemp(path); err != nil {
		t.Fatalf("CleanTemp: %v", err)
	}
	for _, name := range leftovers {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("leftover %s still there: %v", name, err)
		}
	}
	for _, name := range others {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("CleanTemp removed unrelated %s: %v", name, err)
		}
	}
	if got, err := ReadOffsets(path); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadOffsets after clean = %v, %v", got, err)
	}
}

func TestCheckpointWriteMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "cp")
	if err := Write(path, sampleEntries()); err == nil {
		t.Fatal("Write into a missing directory succeeded")
	}
}

func TestCheckpointOffsets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "offsets")
	want := map[string]int64{"high_watermark": 3, "recovery_point": 2, "log_start_offset": 1}
	if err := WriteOffsets(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadOffsets(path)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ReadOffsets = %v, %v; want %v", got, err, want)
	}
	// Equal maps give byte-identical files.
	b1, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteOffsets(path, map[string]int64{"log_start_offset": 1, "recovery_point": 2, "high_watermark": 3}); err != nil {
		t.Fatal(err)
	}
	b2, err := os.ReadFile(path)
	if err != nil || string(b1) != string(b2) {
		t.Fatalf("WriteOffsets is not deterministic (%v)", err)
	}
}

func TestCheckpointReadOffsetsDuplicateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "offsets")
	if err := Write(path, []Entry{{Key: "hw", Value: 1}, {Key: "hw", Value: 2}}); err != nil {
		t.Fatal(err)
	}
	_, err := ReadOffsets(path)
	if !errors.Is(err, ErrDuplicateKey) || !errors.Is(err, ErrCorruptCheckpoint) {
		t.Fatalf("ReadOffsets = %v, want ErrDuplicateKey", err)
	}
}

func TestCheckpointConcurrentWritersDifferentFiles(t *testing.T) {
	dir := t.TempDir()
	const writers, rounds = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := filepath.Join(dir, fmt.Sprintf("p%d.checkpoint", w))
			for r := range int64(rounds) {
				want := []Entry{{Key: "writer", Value: int64(w)}, {Key: "round", Value: r}}
				if err := Write(path, want); err != nil {
					errs <- err
					return
				}
				got, err := Read(path)
				if err != nil || !reflect.DeepEqual(got, want) {
					errs <- fmt.Errorf("writer %d round %d: Read = %v, %v", w, r, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assertNoTemps(t, dir)
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if strings.HasSuffix(de.Name(), tempSuffix) {
			t.Errorf("temporary file %s left behind", de.Name())
		}
	}
}

// A failing write, fsync or rename of WriteFS leaves the previous content
// in place and no temporary file behind.
func TestWriteFSFaultKeepsPrevious(t *testing.T) {
	for _, op := range []vfs.Op{vfs.OpWrite, vfs.OpSync, vfs.OpRename} {
		t.Run(op.String(), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "offsets")
			fsys := vfs.NewFaulty(nil)
			if err := WriteOffsetsFS(fsys, path, map[string]int64{"a": 1}); err != nil {
				t.Fatal(err)
			}
			fsys.Add(vfs.Rule{Op: op, Pattern: "offsets*", Err: syscall.EIO})
			if err := WriteOffsetsFS(fsys, path, map[string]int64{"a": 2}); !errors.Is(err, syscall.EIO) {
				t.Fatalf("WriteOffsetsFS with a failing %s = %v; want EIO", op, err)
			}
			got, err := ReadOffsets(path)
			if err != nil || got["a"] != 1 {
				t.Fatalf("after the failed write: %v, %v; want the previous content", got, err)
			}
			des, _ := os.ReadDir(dir)
			if len(des) != 1 {
				t.Fatalf("directory holds %d entries; want only the checkpoint", len(des))
			}
		})
	}
}
