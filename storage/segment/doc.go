// Package segment stores one slice of a partition's log: a .log file of
// concatenated record batches with two sparse indexes, .index (offset to
// file position) and .timeindex (timestamp to offset).
//
// # Usage
//
//	s, err := segment.Create(dir, baseOffset, segment.Options{})
//	err = s.Append(batches)               // validated batches, offsets assigned
//	b, err := s.Read(offset, maxBytes, maxOffset)
//	err = s.Sync()                          // fsync all three files
//	err = s.Close()
//
//	s, err = segment.Open(dir, baseOffset, opts) // trusts the indexes
//	if errors.Is(err, segment.ErrCorruptIndex) { // or after an unclean stop:
//		res, err := s.Recover(maxBatchBytes, nil) // verify, cut the tail, rebuild
//	}
//
// A Segment is not safe for concurrent use; the owning log (package
// commitlog) excludes writers from readers. Read, Lookup, ReadAt,
// FindTimestamp and ForEachBatch only read and may run concurrently with
// each other; SyncToken.SyncFiles may run concurrently with anything but
// Close, Delete and TruncateTo.
//
// # Files
//
// A segment with base offset B is three files named by B as 20 decimal
// digits: 00000000000000001000.log, .index and .timeindex.
//
// .log is Kafka v2 record batches back to back, exactly as produced (see
// package batch for the 61-byte header); nothing else, no padding. Every
// batch's base offset is >= B and above the previous batch's last offset;
// the log appends contiguous offsets, compaction may leave gaps. Positions
// and offsets relative to B must fit 32 bits, so a segment is below 4 GiB
// and spans fewer than 2^32 offsets.
//
// .index is a sequence of 8-byte big-endian entries, no header:
//
//	relativeOffset u32 | position u32
//
// meaning "the batch whose base offset is B+relativeOffset starts at byte
// position of .log". Both fields strictly increase. An entry is added for
// a batch when at least IndexIntervalBytes (default 4096) of log were
// appended since the previous entry (or since the start of the segment),
// so the first batch has no entry and lookups start at position 0. To find
// offset O: binary search the last entry with relativeOffset <= O-B, then
// scan batch headers forward to the first batch whose last offset is >= O.
//
// .timeindex is a sequence of 12-byte big-endian entries, no header:
//
//	timestamp i64 | relativeOffset u32
//
// meaning "every batch up to and including the one with base offset
// B+relativeOffset has a max timestamp <= timestamp, and that batch has
// exactly timestamp". Both fields strictly increase. An entry is added
// when an offset index entry is, if the segment's max timestamp grew, and
// when the segment is sealed (Seal, Sync, Close), so after a clean close
// the last entry holds the segment's max timestamp. To find the first
// batch with max timestamp >= T: take the last entry with timestamp < T,
// look its offset up in .index and scan forward.
//
// Index files are not preallocated: they grow by whole entries. New
// entries are kept in memory and written when 512 are pending and on
// Seal, Sync and Close; after a crash the indexes may lag the log, which
// Open detects (ErrCorruptIndex) and Recover repairs by rebuilding both
// from the log with the same rule, so a rebuilt index is byte for byte
// the one appending would have written.
//
// The active segment holds its index entries in memory (8 bytes per 4 KiB
// of log). Closed segments need not: Options.LazyIndex opens a segment
// reading only the last entry of each index file, and ReleaseIndex drops
// the entries of a segment that stopped taking appends; lookups then
// binary search the files with positioned reads, and Append or TruncateTo
// load the entries back first. Lookups check that the entry they start
// from points at a batch with the offset it names, so a damaged index
// yields ErrCorruptIndex, never a wrong batch.
//
// # Recovery
//
// Recover reads the .log from the start and keeps the longest prefix of
// batches that parse, have magic 2, a matching CRC-32C, a size within
// maxBatchBytes and increasing offsets; it truncates the file after that
// prefix (a torn write or a corrupt batch ends the segment) and rewrites
// both indexes. RecoverFrom(offset) does the same for a segment whose
// part below offset was fsynced, index entries included, before offset was
// checkpointed as the log's recovery point: it keeps the valid prefix of
// each index file below offset, walks headers only from the last such
// entry to offset, and verifies from there; if offset is not a batch
// boundary or an entry names the wrong batch it verifies the whole
// segment.
package segment
