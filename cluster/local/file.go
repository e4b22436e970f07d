package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

const (
	// fileName is the metadata file inside the store's directory.
	fileName = "metadata.json"
	// tempSuffix marks the file being written before it replaces fileName.
	tempSuffix = ".tmp"
	// fileMagic starts the header line of every metadata file.
	fileMagic = "sluice-metadata"
	// fileFormat is the version of the layout below.
	fileFormat = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fileBody is the JSON document after the header line.
type fileBody struct {
	Index uint64      `json:"index"`
	Keys  []fileEntry `json:"keys"`
}

type fileEntry struct {
	Key     string `json:"key"`
	Value   []byte `json:"value"` // base64 in JSON
	Version uint64 `json:"version"`
}

// encodeFile renders the whole store: a header line
// "sluice-metadata 1 <body length> <crc32c of body, 8 hex digits>\n"
// followed by the JSON body.
func encodeFile(index uint64, entries map[string]entry) ([]byte, error) {
	body := fileBody{Index: index, Keys: make([]fileEntry, 0, len(entries))}
	for k, e := range entries {
		body.Keys = append(body.Keys, fileEntry{Key: k, Value: e.value, Version: e.version})
	}
	sort.Slice(body.Keys, func(i, j int) bool { return body.Keys[i].Key < body.Keys[j].Key })
	js, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("local: encode metadata: %w", err)
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s %d %d %08x\n", fileMagic, fileFormat, len(js), crc32.Checksum(js, castagnoli))
	buf.Write(js)
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// decodeFile parses and verifies a metadata file.
func decodeFile(data []byte) (uint64, map[string]entry, error) {
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 {
		return 0, nil, fmt.Errorf("%w: no header line", ErrCorrupt)
	}
	var (
		magic  string
		format int
		length int
		sum    uint32
	)
	if _, err := fmt.Sscanf(string(data[:nl]), "%s %d %d %x", &magic, &format, &length, &sum); err != nil || magic != fileMagic {
		return 0, nil, fmt.Errorf("%w: bad header %q", ErrCorrupt, truncate(data[:nl]))
	}
	if format != fileFormat {
		return 0, nil, fmt.Errorf("%w: unsupported format %d", ErrCorrupt, format)
	}
	body := data[nl+1:]
	if len(body) < length {
		return 0, nil, fmt.Errorf("%w: body is %d bytes, header says %d", ErrCorrupt, len(body), length)
	}
	body = body[:length]
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return 0, nil, fmt.Errorf("%w: checksum %08x, header says %08x", ErrCorrupt, got, sum)
	}
	var fb fileBody
	if err := json.Unmarshal(body, &fb); err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	entries := make(map[string]entry, len(fb.Keys))
	for _, k := range fb.Keys {
		if k.Key == "" || k.Version == 0 || k.Version > fb.Index {
			return 0, nil, fmt.Errorf("%w: key %q has version %d with store index %d", ErrCorrupt, k.Key, k.Version, fb.Index)
		}
		if _, dup := entries[k.Key]; dup {
			return 0, nil, fmt.Errorf("%w: duplicate key %q", ErrCorrupt, k.Key)
		}
		entries[k.Key] = entry{value: clone(k.Value), version: k.Version}
	}
	return fb.Index, entries, nil
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

// readFile loads the store from path; a missing file is an empty store.
func readFile(path string) (uint64, map[string]entry, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, make(map[string]entry), nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("local: read metadata: %w", err)
	}
	index, entries, err := decodeFile(data)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", path, err)
	}
	return index, entries, nil
}

// persist writes entries with the given index: temp file, fsync, rename
// over the old file, fsync the directory. Memory stores skip it.
func (s *Store) persist(entries map[string]entry, index uint64) error {
	if s.path == "" {
		return nil
	}
	data, err := encodeFile(index, entries)
	if err != nil {
		return err
	}
	if err := writeAtomic(s.dir, s.path, data); err != nil {
		return fmt.Errorf("local: persist metadata: %w", err)
	}
	return nil
}

func writeAtomic(dir, path string, data []byte) error {
	tmp := path + tempSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// lockName is the advisory lock file that keeps two processes from opening
// the same directory.
const lockName = "LOCK"

// lockFile opens the lock file and takes the lock.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("local: open lock file: %w", err)
	}
	if err := flock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("local: %s is in use by another process: %w", dir, err)
	}
	return f, nil
}

func unlockDir(f *os.File) error {
	return f.Close() // closing the descriptor releases the lock
}
