package segment

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"

	"github.com/sluice-mq/sluice/storage/vfs"
)

// Sizes of the on-disk index entries.
const (
	// IndexEntrySize is relative offset u32 + log position u32.
	IndexEntrySize = 8
	// TimeIndexEntrySize is timestamp i64 + relative offset u32.
	TimeIndexEntrySize = 12
)

// indexEntry maps the relative base offset of a batch to its position in
// the log file.
type indexEntry struct {
	rel uint32
	pos uint32
}

// timeEntry says that every batch up to and including the one whose
// relative base offset is rel has a max timestamp <= ts, and that the batch
// at rel reaches ts.
type timeEntry struct {
	ts  int64
	rel uint32
}

// offsetIndex is the in-memory copy of a .index file plus the entries not
// written yet. Invariant: rel and pos strictly increase; written <= len(entries).
type offsetIndex struct {
	entries []indexEntry
	written int
}

// floor returns the entry with the greatest rel <= rel, or ok=false.
func (x *offsetIndex) floor(rel uint32) (indexEntry, bool) {
	i := sort.Search(len(x.entries), func(i int) bool { return x.entries[i].rel > rel })
	if i == 0 {
		return indexEntry{}, false
	}
	return x.entries[i-1], true
}

// truncatePos drops entries whose position is >= pos.
func (x *offsetIndex) truncatePos(pos uint32) {
	i := sort.Search(len(x.entries), func(i int) bool { return x.entries[i].pos >= pos })
	x.entries = x.entries[:i]
	x.written = min(x.written, i)
}

func (x *offsetIndex) encodePending() []byte {
	pending := x.entries[x.written:]
	b := make([]byte, len(pending)*IndexEntrySize)
	for i, e := range pending {
		binary.BigEndian.PutUint32(b[i*IndexEntrySize:], e.rel)
		binary.BigEndian.PutUint32(b[i*IndexEntrySize+4:], e.pos)
	}
	return b
}

func decodeIndex(b []byte) (offsetIndex, error) {
	if len(b)%IndexEntrySize != 0 {
		return offsetIndex{}, fmt.Errorf("%w: index size %d not a multiple of %d", ErrCorruptIndex, len(b), IndexEntrySize)
	}
	x := offsetIndex{entries: make([]indexEntry, len(b)/IndexEntrySize)}
	for i := range x.entries {
		e := indexEntry{
			rel: binary.BigEndian.Uint32(b[i*IndexEntrySize:]),
			pos: binary.BigEndian.Uint32(b[i*IndexEntrySize+4:]),
		}
		if i > 0 && (e.rel <= x.entries[i-1].rel || e.pos <= x.entries[i-1].pos) {
			return offsetIndex{}, fmt.Errorf("%w: index entry %d not increasing", ErrCorruptIndex, i)
		}
		x.entries[i] = e
	}
	x.written = len(x.entries)
	return x, nil
}

// timeIndex is the in-memory copy of a .timeindex file plus the entries not
// written yet. Invariant: ts and rel strictly increase.
type timeIndex struct {
	entries []timeEntry
	written int
}

// lastBelow returns the last entry with ts < target, or ok=false.
func (x *timeIndex) lastBelow(target int64) (timeEntry, bool) {
	i := sort.Search(len(x.entries), func(i int) bool { return x.entries[i].ts >= target })
	if i == 0 {
		return timeEntry{}, false
	}
	return x.entries[i-1], true
}

// truncateRel drops entries whose relative offset is >= rel.
func (x *timeIndex) truncateRel(rel uint32) {
	i := sort.Search(len(x.entries), func(i int) bool { return x.entries[i].rel >= rel })
	x.entries = x.entries[:i]
	x.written = min(x.written, i)
}

func (x *timeIndex) last() (timeEntry, bool) {
	if len(x.entries) == 0 {
		return timeEntry{}, false
	}
	return x.entries[len(x.entries)-1], true
}

// add appends (ts, rel) if it raises the indexed maximum.
func (x *timeIndex) add(ts int64, rel uint32) {
	if l, ok := x.last(); ok && (ts <= l.ts || rel <= l.rel) {
		if ts > l.ts && rel == l.rel {
			x.entries[len(x.entries)-1].ts = ts
			x.written = min(x.written, len(x.entries)-1)
		}
		return
	}
	x.entries = append(x.entries, timeEntry{ts: ts, rel: rel})
}

func (x *timeIndex) encodePending() []byte {
	pending := x.entries[x.written:]
	b := make([]byte, len(pending)*TimeIndexEntrySize)
	for i, e := range pending {
		binary.BigEndian.PutUint64(b[i*TimeIndexEntrySize:], uint64(e.ts))
		binary.BigEndian.PutUint32(b[i*TimeIndexEntrySize+8:], e.rel)
	}
	return b
}

func decodeTimeIndex(b []byte) (timeIndex, error) {
	if len(b)%TimeIndexEntrySize != 0 {
		return timeIndex{}, fmt.Errorf("%w: timeindex size %d not a multiple of %d", ErrCorruptIndex, len(b), TimeIndexEntrySize)
	}
	x := timeIndex{entries: make([]timeEntry, len(b)/TimeIndexEntrySize)}
	for i := range x.entries {
		e := timeEntry{
			ts:  int64(binary.BigEndian.Uint64(b[i*TimeIndexEntrySize:])),
			rel: binary.BigEndian.Uint32(b[i*TimeIndexEntrySize+8:]),
		}
		if i > 0 && (e.ts <= x.entries[i-1].ts || e.rel <= x.entries[i-1].rel) {
			return timeIndex{}, fmt.Errorf("%w: timeindex entry %d not increasing", ErrCorruptIndex, i)
		}
		x.entries[i] = e
	}
	x.written = len(x.entries)
	return x, nil
}

// readAll reads a whole small file through an open handle.
func readAll(f vfs.File) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}
