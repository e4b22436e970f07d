// Package batch encodes, decodes and validates record batches in Kafka's v2
// (magic 2) format, the unit Sluice stores and ships.
//
// # Batch header
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
// type (1: log append time), bit 4 transactional, bit 5 control. A producer
// without an idempotent producer id writes -1 in producerId, producerEpoch
// and baseSequence (DefaultEncodeOptions).
//
// # Records
//
// The records section holds recordCount records back to back, compressed as
// one block when the codec is not none. Each record is:
//
//	length varint | attributes i8 (unused, 0) | timestampDelta varlong |
//	offsetDelta varint | keyLength varint | key | valueLength varint | value |
//	headerCount varint | headers...
//
// and each header:
//
//	keyLength varint | key (UTF-8) | valueLength varint | value
//
// Varints are zigzag-encoded base-128 (encoding/binary's Varint), varint
// fields fit in an int32 and varlong fields in an int64. length counts the
// bytes after itself. A length of -1 is a null key or value (Record keeps
// nil apart from empty); header keys cannot be null. A record's offset is
// baseOffset + offsetDelta and its timestamp baseTimestamp + timestampDelta,
// or maxTimestamp for every record when the timestamp type is log append
// time. This package writes offset deltas 0..n-1 and requires them on
// decode (lastOffsetDelta = recordCount-1), takes the first record's
// timestamp as baseTimestamp and the largest as maxTimestamp.
//
// A control batch (attributes control and transactional) holds one record
// ending a transaction: its key is version i16 (0) and type i16 (0 abort,
// 1 commit), its value version i16 (0) and the transaction coordinator's
// epoch i32. See EncodeControl and ParseControl.
//
// # Codecs
//
// Compression uses github.com/klauspost/compress (gzip, snappy through s2's
// snappy-compatible block encoder, zstd) and github.com/pierrec/lz4/v4,
// tuned for speed: gzip level 1, zstd's fastest level with a 64 KiB window,
// lz4 frames of 64 KiB blocks (the LZ4 frame format Kafka 0.10+ uses).
// Snappy is written as one raw snappy block, as librdkafka and franz-go do;
// on read both the raw block and the xerial framing of Java's snappy-java
// (magic 0x82 "SNAPPY" 0, version, compatible version, then blocks of a
// big-endian i32 length and a raw block) are accepted. Encoders and
// decoders are pooled, so a batch does not allocate codec state.
//
// Decompression is bounded by MaxDecompressedBytes (64 MiB by default):
// output beyond it fails with ErrDecompressLimit, checked against the
// size a snappy or zstd block declares before allocating and while
// streaming gzip and lz4, so a tiny batch cannot make the broker allocate
// more than the limit.
//
// # Usage
//
// A producer reuses one Builder per partition:
//
//	b := batch.NewBuilder(opts)
//	for _, m := range pending {
//		b.Append(m.Timestamp, m.Key, m.Value, m.Headers)
//		if b.EstimatedSize() >= maxBatchBytes {
//			break
//		}
//	}
//	buf, err := b.Build() // or b.AppendTo(reused) to avoid the copy
//	b.Reset(opts)
//
// A broker checks incoming batches with Check, which validates everything
// a producer (FromProducer, Kafka's client-origin rules) or a replicating
// leader (FromLeader) may send without allocating for uncompressed
// batches, and tells damage (ErrCorruptBatch, ErrShortBatch,
// ErrInvalidMagic) from well-framed but invalid content (ErrInvalidBatch,
// ErrInvalidTimestamp). Verify checks that Decode would accept one batch,
// Validate only the framing and CRC. The broker re-bases batches in
// place with SetBaseOffset and
// SetPartitionLeaderEpoch, stamps them with SetLogAppendTime when the topic
// asks for it, and re-encodes them with Recompress when the topic's codec
// differs from the producer's. A consumer walks a fetched buffer of
// concatenated batches with ForEach, which stops quietly at a partial last
// batch, or decodes one batch with Decode. Errors wrap the package's
// sentinels (ErrCorruptBatch, ErrShortBatch, ErrBadRecord, ...) for
// errors.Is.
package batch
