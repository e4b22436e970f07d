package txnindex

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/sluice-mq/sluice/storage/vfs"
)

// Suffix ends an index file's name.
const Suffix = ".txnindex"

// EntrySize is the size of one entry on disk.
const EntrySize = 34

// ErrCorrupt means an index file holds an entry that cannot be right.
var ErrCorrupt = errors.New("txnindex: corrupt entry")

// Entry is one aborted transaction.
type Entry struct {
	ProducerID  int64
	FirstOffset int64
	// LastOffset is the offset of the ABORT marker.
	LastOffset int64
	// LastStableOffset is the first undecided offset once the marker was
	// applied.
	LastStableOffset int64
}

// AppendEntry appends e's encoding to b.
func AppendEntry(b []byte, e Entry) []byte {
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(e.ProducerID))
	b = binary.BigEndian.AppendUint64(b, uint64(e.FirstOffset))
	b = binary.BigEndian.AppendUint64(b, uint64(e.LastOffset))
	return binary.BigEndian.AppendUint64(b, uint64(e.LastStableOffset))
}

// Decode parses a file's content: whole entries, each with version 0,
// 0 ≤ firstOffset ≤ lastOffset, lastStableOffset > firstOffset, markers
// in increasing order. A partial trailing entry is an error too (Open cuts one).
func Decode(b []byte) ([]Entry, error) {
	if len(b)%EntrySize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of entries", ErrCorrupt, len(b))
	}
	out := make([]Entry, 0, len(b)/EntrySize)
	for i := 0; i < len(b); i += EntrySize {
		p := b[i:]
		if v := binary.BigEndian.Uint16(p); v != 0 {
			return nil, fmt.Errorf("%w: entry %d version %d", ErrCorrupt, i/EntrySize, v)
		}
		e := Entry{
			ProducerID:       int64(binary.BigEndian.Uint64(p[2:])),
			FirstOffset:      int64(binary.BigEndian.Uint64(p[10:])),
			LastOffset:       int64(binary.BigEndian.Uint64(p[18:])),
			LastStableOffset: int64(binary.BigEndian.Uint64(p[26:])),
		}
		if e.ProducerID < 0 || e.FirstOffset < 0 || e.LastOffset < e.FirstOffset || e.LastStableOffset <= e.FirstOffset ||
			(len(out) > 0 && e.LastOffset <= out[len(out)-1].LastOffset) {
			return nil, fmt.Errorf("%w: entry %d %+v", ErrCorrupt, i/EntrySize, e)
		}
		out = append(out, e)
	}
	return out, nil
}

// Name is the file name of the index of the segment based at base.
func Name(base int64) string { return fmt.Sprintf("%020d%s", base, Suffix) }

func parseName(name string) (int64, bool) {
	digits, ok := strings.CutSuffix(name, Suffix)
	if !ok || len(digits) != 20 || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	off, err := strconv.ParseInt(digits, 10, 64)
	return off, err == nil
}

// Index is the aborted-transaction index of one partition directory. It
// is safe for concurrent use.
type Index struct {
	dir  string
	fsys vfs.FS

	mu     sync.Mutex
	bases  []int64 // files, ascending
	sizes  map[int64]int64
	dirty  map[int64]bool
	closed bool
	// damaged: Open found a file with a corrupt entry.
	damaged bool
}

// Open opens the index files in dir, cutting a torn trailing entry and
// checking every entry; a corrupt one marks the index Damaged.
func Open(fsys vfs.FS, dir string) (*Index, error) {
	fsys = vfs.Default(fsys)
	x := &Index{dir: dir, fsys: fsys, sizes: map[int64]int64{}, dirty: map[int64]bool{}}
	des, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("txnindex: open: %w", err)
	}
	for _, de := range des {
		base, ok := parseName(de.Name())
		if !ok || !de.Type().IsRegular() {
			continue
		}
		info, err := de.Info()
		if err != nil {
			return nil, fmt.Errorf("txnindex: open: %w", err)
		}
		size := info.Size() - info.Size()%EntrySize
		if size != info.Size() {
			if err := x.truncateFile(base, size); err != nil {
				return nil, err
			}
		}
		x.bases = append(x.bases, base)
		x.sizes[base] = size
	}
	slices.Sort(x.bases)
	for _, base := range x.bases {
		if _, err := x.read(base); errors.Is(err, ErrCorrupt) {
			x.damaged = true
		} else if err != nil {
			return nil, err
		}
	}
	return x, nil
}

// Damaged reports whether Open found a corrupt entry: the owner must
// rebuild the whole index (Reset, then Append from the whole log).
func (x *Index) Damaged() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.damaged
}

// Reset deletes every index file, for a rebuild from the whole log.
func (x *Index) Reset() error {
	if err := x.TruncateFrom(math.MinInt64); err != nil {
		return err
	}
	x.mu.Lock()
	x.damaged = false
	x.mu.Unlock()
	return nil
}

func (x *Index) path(base int64) string { return filepath.Join(x.dir, Name(base)) }

func (x *Index) truncateFile(base, size int64) error {
	f, err := x.fsys.OpenFile(x.path(base), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("txnindex: %s: %w", Name(base), err)
	}
	err = errors.Join(f.Truncate(size), f.Sync(), f.Close())
	if err != nil {
		return fmt.Errorf("txnindex: cut %s: %w", Name(base), err)
	}
	return nil
}

// Append adds e to the index of the segment based at base (the segment
// holding the marker), creating the file if needed, or to the last file
// when that is based later (compaction merged the segment that file was
// made for into an earlier one): entries stay in marker order across
// files, and each file holds markers from its base to the next file's.
// It is not fsynced: Sync does that.
func (x *Index) Append(base int64, e Entry) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return errors.New("txnindex: closed")
	}
	if n := len(x.bases); n > 0 && base < x.bases[n-1] {
		base = x.bases[n-1]
	}
	f, err := x.fsys.OpenFile(x.path(base), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("txnindex: %s: %w", Name(base), err)
	}
	size, known := x.sizes[base]
	_, werr := f.WriteAt(AppendEntry(nil, e), size)
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("txnindex: append to %s: %w", Name(base), err)
	}
	if !known {
		x.bases = append(x.bases, base)
		x.dirty[-1] = true // the directory gained an entry
	}
	x.sizes[base] = size + EntrySize
	x.dirty[base] = true
	return nil
}

// Sync fsyncs what Append wrote since the last Sync.
func (x *Index) Sync() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for base := range x.dirty {
		if base < 0 {
			continue
		}
		f, err := x.fsys.OpenFile(x.path(base), os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("txnindex: sync %s: %w", Name(base), err)
		}
		if err := errors.Join(f.Sync(), f.Close()); err != nil {
			return fmt.Errorf("txnindex: sync %s: %w", Name(base), err)
		}
		delete(x.dirty, base)
	}
	if x.dirty[-1] {
		if err := syncDir(x.fsys, x.dir); err != nil {
			return fmt.Errorf("txnindex: sync dir: %w", err)
		}
		delete(x.dirty, -1)
	}
	return nil
}

// read returns the entries of the file based at base.
func (x *Index) read(base int64) ([]Entry, error) {
	size := x.sizes[base]
	if size == 0 {
		return nil, nil
	}
	f, err := x.fsys.OpenFile(x.path(base), os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("txnindex: read %s: %w", Name(base), err)
	}
	defer f.Close()
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("txnindex: read %s: %w", Name(base), err)
	}
	entries, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Name(base), err)
	}
	return entries, nil
}

// Collect returns the aborted transactions that overlap [from, upTo):
// marker at or after from and first offset before upTo, in marker order.
// It reads from the file of the segment holding from and stops at the
// first entry whose last stable offset reaches upTo (no transaction
// starting before upTo can end after it), as Kafka does.
func (x *Index) Collect(from, upTo int64) ([]Entry, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	i, _ := slices.BinarySearch(x.bases, from+1)
	var out []Entry
	for i = max(i-1, 0); i < len(x.bases); i++ {
		entries, err := x.read(x.bases[i])
		if err != nil {
			return out, err
		}
		for _, e := range entries {
			if e.LastOffset >= from && e.FirstOffset < upTo {
				out = append(out, e)
			}
			if e.LastStableOffset >= upTo {
				return out, nil
			}
		}
	}
	return out, nil
}

// TruncateFrom drops the entries whose marker is at or after offset: the
// files of segments based at or after it are deleted, the one before is
// cut. Everything is fsynced.
func (x *Index) TruncateFrom(offset int64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	keep := x.bases[:0]
	removed := false
	for _, base := range x.bases {
		if base >= offset {
			if err := x.fsys.Remove(x.path(base)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("txnindex: delete %s: %w", Name(base), err)
			}
			delete(x.sizes, base)
			delete(x.dirty, base)
			removed = true
			continue
		}
		keep = append(keep, base)
	}
	x.bases = keep
	if n := len(x.bases); n > 0 {
		base := x.bases[n-1]
		entries, err := x.read(base)
		if err != nil {
			return err
		}
		cut := 0
		for cut < len(entries) && entries[cut].LastOffset < offset {
			cut++
		}
		if size := int64(cut) * EntrySize; size != x.sizes[base] {
			if err := x.truncateFile(base, size); err != nil {
				return err
			}
			x.sizes[base] = size
		}
	}
	if removed {
		if err := syncDir(x.fsys, x.dir); err != nil {
			return fmt.Errorf("txnindex: sync dir: %w", err)
		}
	}
	return nil
}

// DeleteBefore deletes the files of the segments based below base
// (retention deleted them).
func (x *Index) DeleteBefore(base int64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for n < len(x.bases) && x.bases[n] < base {
		if err := x.fsys.Remove(x.path(x.bases[n])); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("txnindex: delete %s: %w", Name(x.bases[n]), err)
		}
		delete(x.sizes, x.bases[n])
		delete(x.dirty, x.bases[n])
		n++
	}
	if n == 0 {
		return nil
	}
	x.bases = append(x.bases[:0], x.bases[n:]...)
	if err := syncDir(x.fsys, x.dir); err != nil {
		return fmt.Errorf("txnindex: sync dir: %w", err)
	}
	return nil
}

// Close syncs and closes the index.
func (x *Index) Close() error {
	err := x.Sync()
	x.mu.Lock()
	x.closed = true
	x.mu.Unlock()
	return err
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
