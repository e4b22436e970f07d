// Package producerstate is a partition's producer state, as Kafka's
// ProducerStateManager: for each producer id the epoch, the last five
// batches' sequence ranges and offsets, the open transaction's first
// offset, the coordinator epoch of the last marker and the last
// timestamp. It is pure state with no goroutines; the replica actor owns
// one State per partition.
//
// The leader checks each produced batch before appending it (State.Check):
// a batch that repeats a retained one (same producer epoch and sequence
// range) is a duplicate answered with the original offsets; a base
// sequence that does not follow the last one is out of order, an older
// epoch is invalid, and a new epoch must start at sequence 0. A producer
// id the partition has no state for is accepted at any sequence (Kafka's
// rule since KIP-360: its state may have expired or its batches been
// deleted by retention). Every replica applies what it appends
// (State.Apply, State.ApplyBatches), leader and followers alike, so a new
// leader dedupes retries of batches the old one wrote. Transaction
// markers (control batches) close a producer's open transaction and
// report it as completed (for the aborted-transaction index). Producer
// ids without an open transaction expire producer.id.expiration.ms after
// their last timestamp (State.RemoveExpired).
//
// # Snapshot files
//
// A snapshot holds the state describing the log below an offset, in the
// partition directory as `<offset as 20 digits>.snapshot` (Kafka's
// naming). The replica writes one when the log rolls a segment (at the new
// segment's base offset) and at a clean close (at the log end), each to
// `<name>.tmp`, fsynced, renamed and the directory fsynced. All integers
// are big-endian; the CRC is CRC-32C (Castagnoli):
//
//	version           i16   1
//	crc               u32   CRC-32C of every byte after this field
//	count             u32   number of entries
//	entries, count times, by increasing producer id:
//	  producerId        i64
//	  producerEpoch     i16
//	  coordinatorEpoch  i32   -1 before any marker
//	  txnFirstOffset    i64   first offset of the open transaction, -1 none
//	  lastTimestamp     i64   ms; expiration counts from it
//	  batchCount        u8    0 to 5
//	  batches, batchCount times, oldest first:
//	    firstSequence   i32
//	    lastSequence    i32
//	    firstOffset     i64
//	    lastOffset      i64
//	    timestamp       i64   the batch's max timestamp
//
// The layout follows Kafka's (version, crc, entries) but keeps all five
// batches of each producer, so duplicates are detected after a restart as
// before it; it is not byte-compatible with Kafka's files. A file with a
// bad CRC, an unknown version, counts that do not fit, producer ids not
// increasing, batch offsets not increasing or trailing bytes is corrupt
// and never used.
//
// Recovery (Load) uses the latest valid snapshot between the log start
// and the log end offset and replays the batch headers above it (the
// record of control batches too); corrupt snapshots are deleted and the
// next older one is tried, down to replaying the whole log. Snapshots
// above the log end (a lost tail) are deleted before anything is read,
// and a follower's truncation deletes those above the truncation point
// before the log is cut, so a snapshot never describes records the log
// no longer holds. Retention deletes the snapshots below the first
// remaining segment's base offset.
package producerstate
