package batch

import "errors"

// Errors returned while encoding, decoding and (de)compressing batches.
// Decoding errors about the records section wrap ErrCorruptBatch as well as
// the more specific sentinel, so errors.Is matches either.
var (
	// ErrBadRecord means a record inside the batch is malformed: a bad or
	// out-of-range varint, a length running past the record, a negative
	// header count or a null header key.
	ErrBadRecord = errors.New("batch: malformed record")
	// ErrRecordCount means the records section holds a different number
	// of records than the header's recordCount, or lastOffsetDelta does
	// not match it.
	ErrRecordCount = errors.New("batch: record count mismatch")
	// ErrOffsetDelta means a record's offset delta is not its index in
	// the batch.
	ErrOffsetDelta = errors.New("batch: non-sequential offset delta")
	// ErrUnknownCodec means the attributes name a codec other than none,
	// gzip, snappy, lz4 or zstd.
	ErrUnknownCodec = errors.New("batch: unknown compression codec")
	// ErrDecompress means the compressed records section could not be
	// decompressed.
	ErrDecompress = errors.New("batch: decompression failed")
	// ErrDecompressLimit means the records section would decompress to
	// more than MaxDecompressedBytes.
	ErrDecompressLimit = errors.New("batch: decompressed size exceeds limit")
	// ErrEmptyBatch means Build was called on a Builder with no records;
	// Kafka rejects batches without records on produce.
	ErrEmptyBatch = errors.New("batch: no records")
	// ErrBatchTooLarge means the encoded batch does not fit the int32
	// batchLength field.
	ErrBatchTooLarge = errors.New("batch: batch too large")
)
