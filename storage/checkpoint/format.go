package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

const (
	magic = "SLCK"
	// Version is the format version Encode writes and Decode accepts.
	Version = 1

	headerSize  = 4 + 2 + 4 // magic, version, count
	trailerSize = 4         // crc
	// minEntrySize is an entry with an empty key.
	minEntrySize = 2 + 8
	// MaxKeyLen is the longest key an entry can carry.
	MaxKeyLen = math.MaxUint16
)

// Errors returned by this package.
var (
	// ErrCorruptCheckpoint means the file's content is torn, truncated or
	// otherwise invalid; none of it is returned.
	ErrCorruptCheckpoint = errors.New("checkpoint: corrupt checkpoint")
	// ErrNotExist means the checkpoint file does not exist. It wraps
	// fs.ErrNotExist, so errors.Is(err, fs.ErrNotExist) holds as well.
	ErrNotExist = fmt.Errorf("checkpoint: %w", errNotExist)
	// ErrKeyTooLong means an entry's key exceeds MaxKeyLen bytes.
	ErrKeyTooLong = errors.New("checkpoint: key too long")
	// ErrDuplicateKey means ReadOffsets found the same key twice.
	ErrDuplicateKey = fmt.Errorf("%w: duplicate key", ErrCorruptCheckpoint)
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Entry is one named value of a checkpoint.
type Entry struct {
	Key   string
	Value int64
}

// Encode returns the on-disk form of entries (see the package doc).
func Encode(entries []Entry) ([]byte, error) {
	if len(entries) > math.MaxUint32 {
		return nil, fmt.Errorf("checkpoint: %d entries exceed the format limit", len(entries))
	}
	size := headerSize + trailerSize
	for _, e := range entries {
		if len(e.Key) > MaxKeyLen {
			return nil, fmt.Errorf("%w: %d bytes", ErrKeyTooLong, len(e.Key))
		}
		size += minEntrySize + len(e.Key)
	}
	b := make([]byte, 0, size)
	b = append(b, magic...)
	b = binary.BigEndian.AppendUint16(b, Version)
	b = binary.BigEndian.AppendUint32(b, uint32(len(entries)))
	for _, e := range entries {
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.Key)))
		b = append(b, e.Key...)
		b = binary.BigEndian.AppendUint64(b, uint64(e.Value))
	}
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	return b, nil
}

// Decode parses the on-disk form produced by Encode. Any inconsistency is
// reported as ErrCorruptCheckpoint with no entries. The returned slice is
// never nil on success and does not alias b.
func Decode(b []byte) ([]Entry, error) {
	if len(b) < headerSize+trailerSize {
		return nil, fmt.Errorf("%w: %d bytes, below the minimum %d", ErrCorruptCheckpoint, len(b), headerSize+trailerSize)
	}
	body, trailer := b[:len(b)-trailerSize], b[len(b)-trailerSize:]
	if string(body[:4]) != magic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrCorruptCheckpoint, body[:4])
	}
	if got, want := crc32.Checksum(body, castagnoli), binary.BigEndian.Uint32(trailer); got != want {
		return nil, fmt.Errorf("%w: crc %08x, computed %08x", ErrCorruptCheckpoint, want, got)
	}
	if v := binary.BigEndian.Uint16(body[4:]); v != Version {
		return nil, fmt.Errorf("%w: unsupported version %d", ErrCorruptCheckpoint, v)
	}
	count := binary.BigEndian.Uint32(body[6:])
	rest := body[headerSize:]
	// Bound the allocation by what the bytes present can hold.
	if uint64(count) > uint64(len(rest)/minEntrySize) {
		return nil, fmt.Errorf("%w: %d entries cannot fit in %d bytes", ErrCorruptCheckpoint, count, len(rest))
	}
	entries := make([]Entry, 0, count)
	for i := uint32(0); i < count; i++ {
		if len(rest) < minEntrySize {
			return nil, fmt.Errorf("%w: entry %d truncated", ErrCorruptCheckpoint, i)
		}
		keyLen := int(binary.BigEndian.Uint16(rest))
		if len(rest) < minEntrySize+keyLen {
			return nil, fmt.Errorf("%w: entry %d truncated", ErrCorruptCheckpoint, i)
		}
		key := string(rest[2 : 2+keyLen])
		value := int64(binary.BigEndian.Uint64(rest[2+keyLen:]))
		entries = append(entries, Entry{Key: key, Value: value})
		rest = rest[minEntrySize+keyLen:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after %d entries", ErrCorruptCheckpoint, len(rest), count)
	}
	return entries, nil
}
