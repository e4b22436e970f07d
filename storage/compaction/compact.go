package compaction

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
)

// DefaultDeleteRetention is how long tombstones survive compaction when
// Options.DeleteRetention is zero (Kafka's delete.retention.ms default).
const DefaultDeleteRetention = 24 * time.Hour

// Errors returned by Compact.
var (
	// ErrCorruptInput means an input holds a partial or corrupt batch, or
	// its batches are not in increasing offset order.
	ErrCorruptInput = errors.New("compaction: corrupt input")
)

// errMapFull stops pass 1 when the offset map reaches Options.MaxKeys.
var errMapFull = errors.New("compaction: offset map full")

// Options tune Compact.
type Options struct {
	// DeleteRetention is how long a tombstone is kept after the newest
	// record of its input segment: a tombstone is dropped once that
	// segment's largest timestamp is older than Now - DeleteRetention.
	// 0 means DefaultDeleteRetention; a negative value drops tombstones
	// whatever their age.
	DeleteRetention time.Duration
	// MapFrom is the index of the first input whose keys go into the
	// offset map. The inputs before it must be clean already (at most one
	// record per key among them, as a previous Compact left them): they
	// are read once, and a record of theirs is dropped only when a mapped
	// input holds a later one of its key. 0 maps every input.
	MapFrom int
	// MaxKeys bounds the offset map (Kafka's dedupe buffer): pass 1 stops
	// at the input during which the map reaches MaxKeys keys, and only
	// the inputs before it are cleaned (Stats.InputsCleaned). The input at
	// MapFrom is always mapped whole. 0 means no bound.
	MaxKeys int
	// BeforeRewrite, when set, is called between the passes with the
	// number of inputs that will be cleaned, so the caller can prepare
	// their outputs; an error ends Compact.
	BeforeRewrite func(inputsCleaned int) error
	// Now is the time tombstone ages are measured at. The zero value means
	// time.Now().
	Now time.Time
	// DropTombstones, when set, decides for each input whether its
	// latest-for-their-key tombstones go, in place of the DeleteRetention
	// rule (a log cleaner that knows when each segment was first cleaned
	// keeps tombstones for DeleteRetention after that).
	DropTombstones func(input int) bool
	// Aborted lists the aborted transactions of the inputs (from the
	// aborted-transaction index). Their records do not enter the offset
	// map, so they never make a committed record of their key go, and
	// they are dropped, except the last record of the producer's last
	// batch (kept for its producer state; read_committed consumers still
	// skip it by the index).
	Aborted []AbortedTxn
	// DropMarkers, when set, decides for each input whether its
	// transaction markers may go once no record of their transaction is
	// left (Kafka drops them after delete.retention.ms, as tombstones).
	// The inputs must then start at the log start, so every record a
	// marker ends is among them.
	DropMarkers func(input int) bool
}

// AbortedTxn is a transaction ended by an ABORT marker: producer
// ProducerID's transactional records from FirstOffset to LastOffset (the
// marker).
type AbortedTxn struct {
	ProducerID  int64
	FirstOffset int64
	LastOffset  int64
}

// abortedSet answers whether a transactional batch belongs to an aborted
// transaction.
type abortedSet map[int64][]AbortedTxn

func newAbortedSet(txns []AbortedTxn) abortedSet {
	if len(txns) == 0 {
		return nil
	}
	set := abortedSet{}
	for _, t := range txns {
		set[t.ProducerID] = append(set[t.ProducerID], t)
	}
	return set
}

func (a abortedSet) contains(h batch.Header) bool {
	if a == nil || !h.Attributes.Transactional() || h.Attributes.Control() {
		return false
	}
	for _, t := range a[h.ProducerID] {
		if t.FirstOffset <= h.BaseOffset && h.BaseOffset < t.LastOffset {
			return true
		}
	}
	return false
}

func (o Options) deleteHorizonMs() int64 {
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	retention := o.DeleteRetention
	if retention == 0 {
		retention = DefaultDeleteRetention
	}
	return now.Add(-retention).UnixMilli()
}

// Writer receives the cleaned batches of each input, in offset order.
type Writer interface {
	// WriteBatch appends one whole, CRC-valid batch to the cleaned form of
	// inputs[input]. b is only valid during the call.
	WriteBatch(input int, b []byte) error
}

// WriterFunc adapts a function to Writer.
type WriterFunc func(input int, b []byte) error

// WriteBatch calls f.
func (f WriterFunc) WriteBatch(input int, b []byte) error { return f(input, b) }

// Stats describe one Compact run.
type Stats struct {
	Keys              int   // distinct keys in the offset map
	BatchesRead       int   // batches in the inputs
	BatchesWritten    int   // batches written to the Writer
	RecordsRead       int   // records in the inputs, control records included
	RecordsKept       int   // records written to the Writer
	TombstonesDropped int   // latest-for-their-key tombstones past the delete horizon
	TombstonesKept    int   // latest-for-their-key tombstones not yet past it
	ProducerBatches   int   // producers' last batches, whose last record is always kept
	AbortedDropped    int   // records of aborted transactions dropped
	MarkersDropped    int   // transaction markers dropped with no record of their transaction left
	BytesRead         int64 // input bytes (one pass)
	BytesWritten      int64 // bytes passed to the Writer
	// InputsCleaned is how many inputs, from the first, were cleaned and
	// written to the Writer: all of them unless Options.MaxKeys stopped
	// the offset map earlier.
	InputsCleaned int
	// NextOffset is the offset after the cleaned inputs' last batch, -1 when the
	// inputs hold no batch. The output may end earlier; the log's end
	// offset must not move back to it.
	NextOffset int64
}

// Compact cleans inputs, which must be consecutive closed segments of one
// log, oldest first, and writes each input's surviving batches to out (see
// the package doc for the rules). On error, what was written to out must be
// discarded; the inputs are never modified.
func Compact(inputs []Input, out Writer, opts Options) (Stats, error) {
	stats := Stats{NextOffset: -1}
	offsets := newOffsetMap()
	maxTimestamps := make([]int64, len(inputs))
	// The last record of each producer id's last data batch is kept, so
	// the cleaned batch still ends at that offset with the producer's
	// epoch and last sequence, which idempotence and transactions rebuild
	// their state from after a restart.
	lastOfProducer := make(map[int64]int64)
	aborted := newAbortedSet(opts.Aborted)

	// Pass 1: the latest offset of every key of inputs[MapFrom:], and each
	// input's newest timestamp, until the map holds MaxKeys keys.
	cleaned := len(inputs)
	mapFrom := min(max(opts.MapFrom, 0), len(inputs))
	for i := range inputs {
		// Inputs not read here are never dropped from by the default
		// tombstone rule.
		maxTimestamps[i] = math.MaxInt64
	}
	next := int64(-1)
	for i := mapFrom; i < len(inputs); i++ {
		maxTimestamps[i] = -1
		err := scan(inputs[i], func(h batch.Header, b []byte) error {
			if h.BaseOffset < next {
				return fmt.Errorf("%w: batch at offset %d after offset %d", ErrCorruptInput, h.BaseOffset, next-1)
			}
			next = h.NextOffset()
			maxTimestamps[i] = max(maxTimestamps[i], h.MaxTimestamp)
			if h.Attributes.Control() {
				return nil
			}
			if h.ProducerID >= 0 {
				lastOfProducer[h.ProducerID] = h.BaseOffset
			}
			if aborted.contains(h) {
				return nil // its keys supersede nothing
			}
			err := batch.ForEach(b, func(r batch.Record) error {
				if r.Key != nil {
					offsets.put(r.Key, r.Offset)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("%w: batch at offset %d: %w", ErrCorruptInput, h.BaseOffset, err)
			}
			if opts.MaxKeys > 0 && offsets.len() >= opts.MaxKeys && i > mapFrom {
				return errMapFull
			}
			return nil
		})
		if errors.Is(err, errMapFull) {
			// Clean up to the input before this one; the keys mapped from
			// it only point past what is cleaned, which stays correct.
			cleaned = i
			break
		}
		if err != nil {
			return stats, err
		}
	}
	stats.InputsCleaned = cleaned
	if opts.BeforeRewrite != nil {
		if err := opts.BeforeRewrite(cleaned); err != nil {
			return stats, err
		}
	}
	stats.Keys = offsets.len()

	// Pass 2: rewrite each batch with its surviving records.
	horizon := opts.deleteHorizonMs()
	var rw rewriter
	// txnData notes the producers whose current transaction still has a
	// record in the output (its marker must stay).
	txnData := make(map[int64]bool)
	for i, in := range inputs[:cleaned] {
		dropTombstones := opts.DeleteRetention < 0 || maxTimestamps[i] < horizon
		if opts.DropTombstones != nil {
			dropTombstones = opts.DropTombstones(i)
		}
		producerLast := int64(-1) // the last offset of a producer's last batch
		inAborted := false        // the batch belongs to an aborted transaction
		keep := func(r batch.Record) bool {
			if r.Offset == producerLast {
				return true
			}
			if inAborted {
				stats.AbortedDropped++
				return false
			}
			if r.Key == nil {
				return true
			}
			// A key the map lacks is only in inputs before MapFrom, which
			// hold at most one record of it: the latest.
			if latest, ok := offsets.get(r.Key); ok && latest != r.Offset {
				return false
			}
			if r.Value == nil {
				if dropTombstones {
					stats.TombstonesDropped++
					return false
				}
				stats.TombstonesKept++
			}
			return true
		}
		emit := func(cleaned []byte, records int) error {
			stats.BatchesWritten++
			stats.RecordsKept += records
			stats.BytesWritten += int64(len(cleaned))
			if err := out.WriteBatch(i, cleaned); err != nil {
				return fmt.Errorf("compaction: write cleaned %s: %w", in.Name, err)
			}
			return nil
		}
		err := scan(in, func(h batch.Header, b []byte) error {
			if h.BaseOffset < stats.NextOffset {
				return fmt.Errorf("%w: batch at offset %d after offset %d", ErrCorruptInput, h.BaseOffset, stats.NextOffset-1)
			}
			stats.NextOffset = h.NextOffset()
			stats.BatchesRead++
			stats.RecordsRead += int(h.RecordCount)
			stats.BytesRead += int64(len(b))
			producerLast = -1
			inAborted = aborted.contains(h)
			if h.ProducerID >= 0 && !h.Attributes.Control() && lastOfProducer[h.ProducerID] == h.BaseOffset {
				stats.ProducerBatches++
				producerLast = h.LastOffset()
			}
			if h.Attributes.Control() && h.ProducerID >= 0 {
				hadData := txnData[h.ProducerID]
				delete(txnData, h.ProducerID)
				if !hadData && opts.DropMarkers != nil && opts.DropMarkers(i) {
					stats.MarkersDropped++
					return nil
				}
			}
			kept := stats.RecordsKept
			if err := rw.rewrite(h, b, keep, emit); err != nil {
				return err
			}
			if h.Attributes.Transactional() && !h.Attributes.Control() && stats.RecordsKept > kept {
				txnData[h.ProducerID] = true
			}
			return nil
		})
		if err != nil {
			return stats, err
		}
	}
	return stats, nil
}
