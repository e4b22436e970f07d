// Package batch encodes, decodes and validates record batches in Kafka's v2
// (magic 2) format, the unit Sluice stores and ships.
//
// A batch is a 61-byte big-endian header followed by the records section:
//
//	baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 (=2) |
//	crc u32 | attributes i16 | lastOffsetDelta i32 | baseTimestamp i64 |
//	maxTimestamp i64 | producerId i64 | producerEpoch i16 | baseSequence i32 |
//	recordCount i32 | records...
//
// batchLength counts the bytes after itself. The CRC-32C (Castagnoli) covers
// attributes through the end of the batch, so the broker can patch
// baseOffset and partitionLeaderEpoch (SetBaseOffset, SetPartitionLeaderEpoch)
// without recomputing it. Attribute bits 0-2 name the codec of the records
// section (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd), bit 3 the timestamp
// type, bit 4 transactional, bit 5 control.
package batch
