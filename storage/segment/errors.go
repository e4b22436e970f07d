package segment

import "errors"

// Errors returned by segment operations.
var (
	// ErrClosed means the segment was closed or deleted.
	ErrClosed = errors.New("segment: closed")
	// ErrCorruptIndex means an .index or .timeindex file is inconsistent
	// with itself or with the log; Recover rebuilds both from the log.
	ErrCorruptIndex = errors.New("segment: corrupt index")
	// ErrOffsetOverflow means a batch's offsets do not fit the segment's
	// 32-bit relative offsets, or its position does not fit 32 bits; the
	// log must roll to a new segment first.
	ErrOffsetOverflow = errors.New("segment: offset or position overflows 32 bits")
	// ErrOutOfOrder means a batch's base offset is not above the segment's
	// last offset.
	ErrOutOfOrder = errors.New("segment: batch offsets out of order")
)
