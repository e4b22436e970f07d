package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzCheckpointRead feeds arbitrary file content to Read. Invariants: no
// panic; failure is always ErrCorruptCheckpoint with no entries; a
// successful Read survives a Write/Read round trip unchanged and the file
// Write produces is byte-identical to the input.
func FuzzCheckpointRead(f *testing.F) {
	for _, entries := range [][]Entry{nil, {{Key: "hw", Value: 1}}, sampleEntries()} {
		b, err := Encode(entries)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{})
	f.Add([]byte("SLCK\x00\x01\xff\xff\xff\xff\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "in")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		entries, err := Read(path)
		if err != nil {
			if !errors.Is(err, ErrCorruptCheckpoint) || entries != nil {
				t.Fatalf("Read = %v, %v; want nil, ErrCorruptCheckpoint", entries, err)
			}
			return
		}
		out := filepath.Join(dir, "out")
		if err := Write(out, entries); err != nil {
			t.Fatalf("Write of a decoded checkpoint: %v", err)
		}
		again, err := Read(out)
		if err != nil || !reflect.DeepEqual(again, entries) {
			t.Fatalf("round trip: Read = %v, %v; want %v", again, err, entries)
		}
		written, err := os.ReadFile(out)
		if err != nil || string(written) != string(data) {
			t.Fatalf("re-encoding differs from the accepted input (%v)", err)
		}
	})
}

// FuzzCheckpointDecode is FuzzCheckpointRead without the file system, so it
// explores far more inputs per second. A decoded input re-encodes to
// exactly itself.
func FuzzCheckpointDecode(f *testing.F) {
	for _, entries := range [][]Entry{nil, {{Key: "hw", Value: 1}}, sampleEntries()} {
		b, err := Encode(entries)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrCorruptCheckpoint) || entries != nil {
				t.Fatalf("Decode = %v, %v; want nil, ErrCorruptCheckpoint", entries, err)
			}
			return
		}
		again, err := Encode(entries)
		if err != nil || string(again) != string(data) {
			t.Fatalf("Encode(Decode(x)) != x (%v)", err)
		}
	})
}
