// Package txnindex is a partition's aborted-transaction index (Kafka's
// `.txnindex` files): for every transaction ended by an ABORT marker, the
// producer id, the transaction's first offset, the marker's offset and
// the last stable offset once the marker was applied. A read_committed
// fetch asks it for the aborted transactions overlapping the range it
// returns, so the consumer can drop their records.
//
// # File format
//
// One file per log segment, `<segment base offset as 20 digits>.txnindex`,
// holding the entries of the aborts whose marker the segment holds, in
// marker order (after compaction merged segments, the markers from a
// file's base up to the next file's). No header; each entry is 34 bytes,
// big-endian, as in Kafka:
//
//	version           i16   0
//	producerId        i64
//	firstOffset       i64   first offset of the transaction
//	lastOffset        i64   offset of the ABORT marker
//	lastStableOffset  i64   first undecided offset once the marker applied
//
// Entries are appended as markers are written (to the file of the active
// segment) and fsynced before the producer state snapshot that covers
// them is written, so every entry below the latest snapshot's offset is
// durable. Opening cuts a torn trailing entry and checks every entry; an
// entry with an unknown version or offsets out of order marks the index
// Damaged, and its owner rebuilds it from the whole log (Reset). On
// recovery the replica
// drops the entries at or above the offset its producer state replay
// starts from and appends those the replay finds again (TruncateFrom),
// which also rebuilds a missing or damaged file. Retention deletes the
// files of deleted segments (DeleteBefore); a follower's truncation drops
// the entries at or above its point.
package txnindex
