package batch

import (
	"errors"
	"fmt"
	"sync"
)

// Decode decodes b, which must hold exactly one batch: it validates the
// CRC, decompresses the records section (bounded by MaxDecompressedBytes),
// checks the record count and offset deltas, and returns the records with
// absolute offsets and timestamps. With LogAppendTime set every record's
// timestamp is the batch's MaxTimestamp, as Kafka consumers read it.
//
// The records of an uncompressed batch alias b; those of a compressed
// batch alias a fresh buffer the caller owns.
func Decode(b []byte) (Header, []Record, error) {
	h, err := Validate(b)
	if err != nil {
		return h, nil, err
	}
	data, err := recordsSection(h, b, nil)
	if err != nil {
		return h, nil, err
	}
	// A record takes at least 7 bytes, which bounds a lying recordCount.
	records := make([]Record, 0, min(int(h.RecordCount), len(data)/7+1))
	_, err = walkRecords(h, data, nil, true, func(r Record) error {
		records = append(records, r)
		return nil
	})
	if err != nil {
		return h, nil, err
	}
	return h, records, nil
}

// ForEach calls fn for every record of every batch in buf, a sequence of
// concatenated batches such as a Fetch response carries, in order. Each
// batch's CRC is checked before any of its records reach fn.
//
// A partial batch at the end of buf is normal (a fetch cut by its byte
// limit) and ends the walk without error, as does an empty buf. A corrupt
// batch (bad CRC, bad magic, malformed records) is an error. Records of the
// batches before it have already been passed to fn, and so may records of
// the corrupt batch that precede a malformed record, since records are
// parsed as they are handed over (the CRC was good, so only a faulty
// encoder produces such a batch).
//
// The Record passed to fn, including its Key, Value and Headers, is only
// valid during the call: it aliases buf or a reused decompression buffer.
// fn copies what it keeps. An error from fn stops the walk and is returned
// as is.
func ForEach(buf []byte, fn func(Record) error) error {
	st := iterStates.Get().(*iterState)
	defer st.release()
	for len(buf) > 0 {
		h, b, rest, err := Next(buf)
		if errors.Is(err, ErrShortBatch) {
			return nil
		}
		if err != nil {
			return err
		}
		data, err := recordsSection(h, b, st)
		if err != nil {
			return err
		}
		if st.headers, err = walkRecords(h, data, st.headers[:0], false, fn); err != nil {
			return err
		}
		buf = rest
	}
	return nil
}

// Verify checks that b holds exactly one well-formed batch, as Decode
// does (CRC, decompression within MaxDecompressedBytes, record framing,
// count and offset deltas), without building the records. It reuses pooled
// buffers, so a broker can vet each produced batch cheaply.
func Verify(b []byte) (Header, error) {
	h, err := Validate(b)
	if err != nil {
		return h, err
	}
	st := iterStates.Get().(*iterState)
	defer st.release()
	data, err := recordsSection(h, b, st)
	if err != nil {
		return h, err
	}
	st.headers, err = walkRecords(h, data, st.headers[:0], false, func(Record) error { return nil })
	return h, err
}

// iterState is the scratch space ForEach reuses across batches and calls.
type iterState struct {
	buf     []byte
	headers []RecordHeader
}

var iterStates = sync.Pool{New: func() any { return new(iterState) }}

func (st *iterState) release() {
	if cap(st.buf) > maxPooledSize {
		st.buf = nil
	}
	clear(st.headers[:cap(st.headers)]) // drop references into the caller's buffer
	st.headers = st.headers[:0]
	iterStates.Put(st)
}

// recordsSection returns the uncompressed records section of the validated
// batch b. With st, a compressed section is decompressed into st.buf;
// otherwise into a fresh buffer.
func recordsSection(h Header, b []byte, st *iterState) ([]byte, error) {
	if h.RecordCount > 0 && h.LastOffsetDelta != h.RecordCount-1 {
		return nil, fmt.Errorf("%w: %w: lastOffsetDelta %d, recordCount %d",
			ErrCorruptBatch, ErrRecordCount, h.LastOffsetDelta, h.RecordCount)
	}
	data := b[HeaderSize:]
	codec := h.Attributes.Codec()
	if codec == CodecNone {
		return data, nil
	}
	var dst []byte
	if st != nil {
		dst = st.buf
	}
	out, err := decompress(dst, codec, data, MaxDecompressedBytes)
	if err != nil {
		return nil, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
	}
	if st != nil {
		st.buf = out
	}
	return out, nil
}

// walkRecords parses the records section data of the batch h and calls fn
// with each record. Headers are parsed into hdrs, reused from record to
// record and returned for reuse; with fresh, every record gets its own
// headers slice instead.
func walkRecords(h Header, data []byte, hdrs []RecordHeader, fresh bool, fn func(Record) error) ([]RecordHeader, error) {
	r := recordReader{b: data}
	for i := int32(0); i < h.RecordCount; i++ {
		if len(r.b) == 0 {
			return hdrs, fmt.Errorf("%w: %w: batch at offset %d has %d records, header says %d",
				ErrCorruptBatch, ErrRecordCount, h.BaseOffset, i, h.RecordCount)
		}
		if fresh {
			hdrs = nil
		}
		raw, hs := r.next(hdrs[:0])
		if r.err != nil {
			return hdrs, fmt.Errorf("batch at offset %d, record %d: %w", h.BaseOffset, i, r.err)
		}
		if raw.offsetDelta != i {
			return hdrs, fmt.Errorf("%w: %w: record %d has offset delta %d",
				ErrCorruptBatch, ErrOffsetDelta, i, raw.offsetDelta)
		}
		rec := Record{
			Offset:    h.BaseOffset + int64(raw.offsetDelta),
			Timestamp: h.BaseTimestamp + raw.timestampDelta,
			Key:       raw.key,
			Value:     raw.value,
		}
		if h.Attributes.LogAppendTime() {
			rec.Timestamp = h.MaxTimestamp
		}
		if len(hs) > 0 {
			rec.Headers = hs
		}
		if err := fn(rec); err != nil {
			return hs, err
		}
		hdrs = hs
	}
	if len(r.b) != 0 {
		return hdrs, fmt.Errorf("%w: %w: %d bytes after the batch's %d records",
			ErrCorruptBatch, ErrRecordCount, len(r.b), h.RecordCount)
	}
	return hdrs, nil
}
