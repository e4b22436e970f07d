package producerstate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
)

// ErrCorruptSnapshot means a snapshot file is torn, has a bad CRC, an
// unknown version or inconsistent content. Such a file is never used.
var ErrCorruptSnapshot = errors.New("producerstate: corrupt snapshot")

// SnapshotVersion is the snapshot format written (see doc.go).
const SnapshotVersion = 1

// Sizes in the snapshot format.
const (
	snapshotHeaderSize = 2 + 4 + 4             // version, crc, count
	entryFixedSize     = 8 + 2 + 4 + 8 + 8 + 1 // id, epoch, coordinator epoch, txn first offset, timestamp, batch count
	batchSize          = 4 + 4 + 8 + 8 + 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EncodeSnapshot serialises entries (any order; written by producer id).
func EncodeSnapshot(entries []Entry) []byte {
	entries = slices.Clone(entries)
	slices.SortFunc(entries, func(a, b Entry) int { return cmpInt64(a.ProducerID, b.ProducerID) })
	size := snapshotHeaderSize
	for i := range entries {
		size += entryFixedSize + entries[i].n*batchSize
	}
	b := make([]byte, snapshotHeaderSize, size)
	binary.BigEndian.PutUint16(b, SnapshotVersion)
	binary.BigEndian.PutUint32(b[6:], uint32(len(entries)))
	for i := range entries {
		e := &entries[i]
		b = binary.BigEndian.AppendUint64(b, uint64(e.ProducerID))
		b = binary.BigEndian.AppendUint16(b, uint16(e.Epoch))
		b = binary.BigEndian.AppendUint32(b, uint32(e.CoordinatorEpoch))
		b = binary.BigEndian.AppendUint64(b, uint64(e.TxnFirstOffset))
		b = binary.BigEndian.AppendUint64(b, uint64(e.LastTimestamp))
		b = append(b, byte(e.n))
		for _, m := range e.batches[:e.n] {
			b = binary.BigEndian.AppendUint32(b, uint32(m.FirstSeq))
			b = binary.BigEndian.AppendUint32(b, uint32(m.LastSeq))
			b = binary.BigEndian.AppendUint64(b, uint64(m.FirstOffset))
			b = binary.BigEndian.AppendUint64(b, uint64(m.LastOffset))
			b = binary.BigEndian.AppendUint64(b, uint64(m.Timestamp))
		}
	}
	binary.BigEndian.PutUint32(b[2:], crc32.Checksum(b[6:], castagnoli))
	return b
}

// DecodeSnapshot parses a snapshot file's content. Any damage (torn
// file, CRC, version, a count or batch count out of range, producer ids
// not increasing, a batch whose offsets do not increase, trailing bytes)
// gives an error wrapping ErrCorruptSnapshot.
func DecodeSnapshot(b []byte) ([]Entry, error) {
	if len(b) < snapshotHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrCorruptSnapshot, len(b))
	}
	if v := binary.BigEndian.Uint16(b); v != SnapshotVersion {
		return nil, fmt.Errorf("%w: version %d", ErrCorruptSnapshot, v)
	}
	if want, got := binary.BigEndian.Uint32(b[2:]), crc32.Checksum(b[6:], castagnoli); want != got {
		return nil, fmt.Errorf("%w: crc %08x, computed %08x", ErrCorruptSnapshot, want, got)
	}
	count := binary.BigEndian.Uint32(b[6:])
	rest := b[snapshotHeaderSize:]
	if uint64(count)*entryFixedSize > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: %d entries in %d bytes", ErrCorruptSnapshot, count, len(rest))
	}
	entries := make([]Entry, 0, count)
	for i := range count {
		if len(rest) < entryFixedSize {
			return nil, fmt.Errorf("%w: entry %d torn", ErrCorruptSnapshot, i)
		}
		e := Entry{
			ProducerID:       int64(binary.BigEndian.Uint64(rest)),
			Epoch:            int16(binary.BigEndian.Uint16(rest[8:])),
			CoordinatorEpoch: int32(binary.BigEndian.Uint32(rest[10:])),
			TxnFirstOffset:   int64(binary.BigEndian.Uint64(rest[14:])),
			LastTimestamp:    int64(binary.BigEndian.Uint64(rest[22:])),
			n:                int(rest[30]),
		}
		rest = rest[entryFixedSize:]
		if e.ProducerID < 0 || (i > 0 && e.ProducerID <= entries[i-1].ProducerID) {
			return nil, fmt.Errorf("%w: entry %d: producer id %d out of order", ErrCorruptSnapshot, i, e.ProducerID)
		}
		if e.TxnFirstOffset < -1 {
			return nil, fmt.Errorf("%w: producer %d: transaction offset %d", ErrCorruptSnapshot, e.ProducerID, e.TxnFirstOffset)
		}
		if e.n > NumBatchesToRetain || len(rest) < e.n*batchSize {
			return nil, fmt.Errorf("%w: producer %d: %d batches", ErrCorruptSnapshot, e.ProducerID, e.n)
		}
		for j := range e.n {
			m := BatchMetadata{
				FirstSeq:    int32(binary.BigEndian.Uint32(rest)),
				LastSeq:     int32(binary.BigEndian.Uint32(rest[4:])),
				FirstOffset: int64(binary.BigEndian.Uint64(rest[8:])),
				LastOffset:  int64(binary.BigEndian.Uint64(rest[16:])),
				Timestamp:   int64(binary.BigEndian.Uint64(rest[24:])),
			}
			rest = rest[batchSize:]
			if m.FirstOffset < 0 || m.LastOffset < m.FirstOffset || (j > 0 && m.FirstOffset <= e.batches[j-1].LastOffset) {
				return nil, fmt.Errorf("%w: producer %d: batch %d offsets %d-%d", ErrCorruptSnapshot, e.ProducerID, j, m.FirstOffset, m.LastOffset)
			}
			e.batches[j] = m
		}
		entries = append(entries, e)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorruptSnapshot, len(rest))
	}
	return entries, nil
}

// FromEntries returns a state describing the log below end made of
// entries (a snapshot's), without those expired at nowMs.
func FromEntries(cfg Config, end int64, entries []Entry, nowMs int64) *State {
	s := New(cfg, end)
	for i := range entries {
		e := entries[i]
		if s.expired(&e, nowMs) {
			continue
		}
		s.producers[e.ProducerID] = &e
		if e.TxnFirstOffset >= 0 {
			s.ongoing[e.TxnFirstOffset] = e.ProducerID
		}
	}
	return s
}
