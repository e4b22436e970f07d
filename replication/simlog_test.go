package replication

import (
	"encoding/binary"
	"fmt"

	"github.com/sluice-mq/sluice/storage/epochcache"
)

// simRecord is one record of a simulated log: one record per batch.
type simRecord struct {
	epoch int32
	size  int32
}

// simLog is an in-memory log that keeps only each record's epoch and size.
type simLog struct {
	// gen counts truncations: a prefix checked at one gen stays valid.
	gen    uint64
	start  int64 // log start offset
	recs   []simRecord
	epochs *epochcache.Cache
	hw     int64
}

func newSimLog() *simLog { return &simLog{epochs: epochcache.New()} }

func (l *simLog) leo() int64 { return l.start + int64(len(l.recs)) }

func (l *simLog) at(offset int64) simRecord { return l.recs[offset-l.start] }

func (l *simLog) latestEpoch() int32 {
	e, _, ok := l.epochs.Latest()
	if !ok {
		return epochcache.Undefined
	}
	return e
}

func (l *simLog) EndOffsetForEpoch(epoch int32) (int32, int64) {
	return l.epochs.EndOffsetFor(epoch, l.leo())
}

func (l *simLog) append(r simRecord) {
	if err := l.epochs.Assign(r.epoch, l.leo()); err != nil {
		panic(err)
	}
	l.recs = append(l.recs, r)
}

func (l *simLog) appendReplicated(base int64, recs []simRecord) error {
	if base != l.leo() {
		return fmt.Errorf("append at %d, log ends at %d", base, l.leo())
	}
	for _, r := range recs {
		if r.epoch > l.latestEpoch() {
			l.append(r)
			continue
		}
		l.recs = append(l.recs, r)
	}
	return nil
}

func (l *simLog) truncateTo(offset int64) {
	if offset >= l.leo() {
		return
	}
	offset = max(offset, l.start)
	l.gen++
	l.recs = l.recs[:offset-l.start]
	l.epochs.TruncateFromEnd(offset)
	l.hw = min(l.hw, offset)
}

func (l *simLog) restartAt(offset int64) {
	l.start, l.recs, l.hw = offset, nil, offset
	l.gen++
	l.epochs.Clear()
}

// read returns whole records from offset, at most maxBytes but at least
// one, and the range and bytes they cover.
func (l *simLog) read(from int64, maxBytes int) (recs []simRecord, base, end int64, bytes int) {
	from = max(from, l.start)
	for o := from; o < l.leo(); o++ {
		r := l.at(o)
		if len(recs) > 0 && bytes+int(r.size) > maxBytes {
			break
		}
		recs = append(recs, r)
		bytes += int(r.size)
	}
	return recs, from, from + int64(len(recs)), bytes
}

func encodeRecords(recs []simRecord) []byte {
	b := make([]byte, 0, 8*len(recs))
	for _, r := range recs {
		b = binary.BigEndian.AppendUint32(b, uint32(r.epoch))
		b = binary.BigEndian.AppendUint32(b, uint32(r.size))
	}
	return b
}

func decodeRecords(b []byte) []simRecord {
	recs := make([]simRecord, 0, len(b)/8)
	for ; len(b) >= 8; b = b[8:] {
		recs = append(recs, simRecord{epoch: int32(binary.BigEndian.Uint32(b)), size: int32(binary.BigEndian.Uint32(b[4:]))})
	}
	return recs
}
