package identity

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FileName is the identity file in a data dir.
const FileName = "meta.properties"

const (
	formatVersion = 1
	tempSuffix    = ".tmp"
	maxFileBytes  = 64 << 10
)

// Errors of the identity file.
var (
	// ErrNotExist means the data dir has no identity yet (a fresh dir).
	ErrNotExist = errors.New("identity: no meta.properties")
	// ErrCorrupt means meta.properties could not be parsed.
	ErrCorrupt = errors.New("identity: corrupt meta.properties")
)

// Identity is what meta.properties records.
type Identity struct {
	ClusterID string
	NodeID    int32
}

// Path returns the identity file of dataDir.
func Path(dataDir string) string { return filepath.Join(dataDir, FileName) }

// Encode renders id in the meta.properties format.
func Encode(id Identity) []byte {
	var b bytes.Buffer
	b.WriteString("# Sluice node identity; do not edit.\n")
	fmt.Fprintf(&b, "version=%d\ncluster.id=%s\nnode.id=%d\n", formatVersion, id.ClusterID, id.NodeID)
	return b.Bytes()
}

// Decode parses the meta.properties format; errors wrap ErrCorrupt.
func Decode(b []byte) (Identity, error) {
	seen := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 1024), maxFileBytes)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		key, value, ok := strings.Cut(text, "=")
		if !ok {
			return Identity{}, fmt.Errorf("%w: line %d has no '='", ErrCorrupt, line)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if _, dup := seen[key]; dup {
			return Identity{}, fmt.Errorf("%w: %s given twice", ErrCorrupt, key)
		}
		seen[key] = value
	}
	if err := sc.Err(); err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	for _, k := range []string{"version", "cluster.id", "node.id"} {
		if _, ok := seen[k]; !ok {
			return Identity{}, fmt.Errorf("%w: %s missing", ErrCorrupt, k)
		}
	}
	if v := seen["version"]; v != strconv.Itoa(formatVersion) {
		return Identity{}, fmt.Errorf("%w: unknown version %q", ErrCorrupt, v)
	}
	id := Identity{ClusterID: seen["cluster.id"]}
	if id.ClusterID == "" || strings.ContainsAny(id.ClusterID, " \t") {
		return Identity{}, fmt.Errorf("%w: bad cluster.id %q", ErrCorrupt, id.ClusterID)
	}
	n, err := strconv.ParseInt(seen["node.id"], 10, 32)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: bad node.id %q", ErrCorrupt, seen["node.id"])
	}
	id.NodeID = int32(n)
	return id, nil
}

// Read returns the identity of dataDir: ErrNotExist for a fresh dir, an
// error wrapping ErrCorrupt (naming the file) when it cannot be parsed.
// A temporary file left by an interrupted Write is removed.
func Read(dataDir string) (Identity, error) {
	if err := cleanTemp(dataDir, FileName); err != nil {
		return Identity{}, err
	}
	path := Path(dataDir)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Identity{}, ErrNotExist
	}
	if err != nil {
		return Identity{}, fmt.Errorf("identity: read %s: %w", path, err)
	}
	id, err := Decode(b)
	if err != nil {
		return Identity{}, fmt.Errorf("%w (file %s; restore it from a backup, or write it by hand with this node's cluster.id and node.id)", err, path)
	}
	return id, nil
}

// Write atomically replaces dataDir's identity with id.
func Write(dataDir string, id Identity) error {
	return writeAtomic(dataDir, FileName, Encode(id))
}

// writeAtomic replaces dir/name with b: a temporary file in dir, fsync,
// rename, directory fsync.
func writeAtomic(dir, name string, b []byte) (err error) {
	path := filepath.Join(dir, name)
	f, err := os.CreateTemp(dir, name+".*"+tempSuffix)
	if err != nil {
		return fmt.Errorf("identity: write %s: %w", path, err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if err != nil && !renamed {
			_ = f.Close() // the write error is the one to report
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(b); err != nil {
		return fmt.Errorf("identity: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("identity: sync %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("identity: close %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("identity: rename %s: %w", path, err)
	}
	renamed = true
	if err = syncDir(dir); err != nil {
		return fmt.Errorf("identity: sync dir of %s: %w", path, err)
	}
	return nil
}

// cleanTemp removes temporary files of an interrupted write of name.
func cleanTemp(dataDir, name string) error {
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return fmt.Errorf("identity: scan %s: %w", dataDir, err)
	}
	for _, e := range entries {
		mid, ok := strings.CutPrefix(e.Name(), name+".")
		if !ok || !strings.HasSuffix(mid, tempSuffix) || e.IsDir() {
			continue
		}
		if err := os.Remove(filepath.Join(dataDir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("identity: remove leftover %s: %w", e.Name(), err)
		}
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
