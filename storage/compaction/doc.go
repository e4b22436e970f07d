// Package compaction rewrites closed log segments so that only the latest
// record of each key survives (Kafka's log compaction, cleanup.policy
// =compact), as __consumer_offsets and other keyed topics need.
//
// # Usage
//
//	inputs := []compaction.Input{compaction.FileInput(seg1), compaction.FileInput(seg2)}
//	out := compaction.WriterFunc(func(input int, b []byte) error {
//		_, err := cleaned[input].Write(b) // b is only valid during the call
//		return err
//	})
//	stats, err := compaction.Compact(inputs, out, compaction.Options{DeleteRetention: 24 * time.Hour})
//
// The caller then swaps each cleaned segment in for its input (same base
// offset, rebuilt index). Compact does no file management of its own and
// knows nothing of segment internals: an Input is any source of batches
// laid out back to back, as in a .log file.
//
// # Algorithm
//
// Pass 1 reads every input and builds an offset map from each key to the
// offset of its latest record. Keys are stored as 128-bit digests, so the
// map costs the same per key whatever the key size. It also notes each
// input's largest batch MaxTimestamp.
//
// Options.MapFrom leaves inputs that an earlier Compact cleaned out of the
// map (Kafka maps only the dirty part of a log), and Options.MaxKeys bounds
// the map: pass 1 stops at the input during which it fills, and only the
// inputs before that one are cleaned (Stats.InputsCleaned); the caller
// cleans the rest in a later run.
//
// Pass 2 reads the inputs again and, batch by batch, keeps a record when
//   - it has no key (nothing can supersede it), or
//   - its offset is the latest for its key (or its key is not mapped: it
//     lies in a clean input before MapFrom), unless it is a tombstone (null
//     value) in an input whose largest timestamp is older than
//     Now - DeleteRetention: consumers have had DeleteRetention to see the
//     delete, so the tombstone itself goes.
//
// Records of aborted transactions (Options.Aborted, from the partition's
// aborted-transaction index) stay out of the offset map, so they never
// make a committed record of their key go, and are dropped in pass 2. The
// caller cleans nothing past the last stable offset, so no record of an
// undecided transaction is ever mapped.
//
// Control batches (transaction markers) pass through unchanged, unless
// Options.DropMarkers allows it for their input and no record of their
// transaction is left in the output (the inputs then start at the log
// start, so every record a marker ends was seen). The last
// record of the last data batch of each producer id (ProducerID >= 0)
// among the inputs is always kept, so a cleaned batch still ends there
// with the producer's id, epoch and last sequence: the state idempotent
// and transactional producers are rebuilt from. A caller that
// knows when each input was first cleaned passes Options.DropTombstones to
// decide per input whether tombstones go.
//
// # Output batches
//
// A batch that keeps all its records is written unchanged, byte for byte,
// which makes compaction idempotent: compacting its own output again
// writes the same bytes. A batch that keeps none is dropped. Otherwise the
// kept records are re-encoded, each run of consecutive offsets as its own
// batch: base offset = the run's first offset, the same partition leader
// epoch, codec, timestamp type, transactional flag, producer id and epoch,
// and a base sequence advanced by the run's distance from the original
// base offset. Every record keeps its offset and timestamp. Runs are
// needed because package batch requires offset deltas 0..n-1 inside a
// batch; Kafka would keep one batch with gaps instead.
//
// As a consequence the last batch of the output can end before the last
// input batch did when its final records were superseded. Stats.NextOffset
// reports the next offset of the input so the caller can preserve the
// log's end offset.
package compaction
