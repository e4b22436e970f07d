package compaction

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/sluice-mq/sluice/storage/batch"
)

// rec is a test record; a nil key or value is null.
type rec struct {
	key, value []byte
	ts         int64
}

func kv(key, value string, ts int64) rec { return rec{key: []byte(key), value: []byte(value), ts: ts} }
func tombstone(key string, ts int64) rec { return rec{key: []byte(key), ts: ts} }
func unkeyed(value string, ts int64) rec { return rec{value: []byte(value), ts: ts} }

// encodeBatch builds a batch of recs at baseOffset with opts.
func encodeBatch(t testing.TB, baseOffset int64, opts batch.EncodeOptions, recs ...rec) []byte {
	t.Helper()
	records := make([]batch.Record, len(recs))
	for i, r := range recs {
		records[i] = batch.Record{Timestamp: r.ts, Key: r.key, Value: r.value}
	}
	b, err := batch.Encode(records, opts)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	batch.SetBaseOffset(b, baseOffset)
	return b
}

func plainBatch(t testing.TB, baseOffset int64, recs ...rec) []byte {
	t.Helper()
	return encodeBatch(t, baseOffset, batch.DefaultEncodeOptions(), recs...)
}

// controlBatch builds a transaction commit marker at baseOffset: one record
// with key version 0, type 1 (commit) and value version 0, coordinator
// epoch 3, in a transactional batch with the control attribute set.
func controlBatch(t testing.TB, baseOffset int64) []byte {
	t.Helper()
	opts := batch.EncodeOptions{ProducerID: 7, ProducerEpoch: 1, BaseSequence: -1, Transactional: true, PartitionLeaderEpoch: -1}
	b := encodeBatch(t, baseOffset, opts, rec{key: []byte{0, 0, 0, 1}, value: []byte{0, 0, 0, 0, 0, 3}, ts: 1000})
	// Set attribute bit 5 (control) and refresh the CRC; see the header
	// layout in package batch: attributes at byte 21, crc at byte 17.
	const attributesAt, crcAt, control = 21, 17, 0x20
	binary.BigEndian.PutUint16(b[attributesAt:], binary.BigEndian.Uint16(b[attributesAt:])|control)
	binary.BigEndian.PutUint32(b[crcAt:], batch.Checksum(b))
	if h, err := batch.Validate(b); err != nil || !h.Attributes.Control() {
		t.Fatalf("control batch: %v", err)
	}
	return b
}

// bufferWriter collects the cleaned batches of each input.
type bufferWriter struct{ segments []bytes.Buffer }

func newBufferWriter(inputs int) *bufferWriter {
	return &bufferWriter{segments: make([]bytes.Buffer, inputs)}
}

func (w *bufferWriter) WriteBatch(input int, b []byte) error {
	_, err := w.segments[input].Write(b)
	return err
}

func (w *bufferWriter) inputs() []Input {
	ins := make([]Input, len(w.segments))
	for i := range w.segments {
		ins[i] = BytesInput("cleaned", w.segments[i].Bytes())
	}
	return ins
}

// compact runs Compact over in-memory segments and returns the cleaned
// segments.
func compact(t *testing.T, segments [][]byte, opts Options) ([][]byte, Stats) {
	t.Helper()
	inputs := make([]Input, len(segments))
	for i, s := range segments {
		inputs[i] = BytesInput("segment", s)
	}
	w := newBufferWriter(len(segments))
	stats, err := Compact(inputs, w, opts)
	if err != nil {
		t.Fatalf("Compact: %v", err)
	}
	out := make([][]byte, len(segments))
	for i := range w.segments {
		out[i] = w.segments[i].Bytes()
	}
	return out, stats
}

// decoded is a record as read back, with its batch's header.
type decoded struct {
	header batch.Header
	record batch.Record
}

// decodeAll validates and decodes every batch of segment with batch.Decode.
func decodeAll(t *testing.T, segment []byte) []decoded {
	t.Helper()
	var out []decoded
	for rest := segment; len(rest) > 0; {
		h, b, next, err := batch.Next(rest)
		if err != nil {
			t.Fatalf("cleaned segment: %v", err)
		}
		h2, records, err := batch.Decode(b)
		if err != nil {
			t.Fatalf("Decode cleaned batch at %d: %v", h.BaseOffset, err)
		}
		for _, r := range records {
			out = append(out, decoded{header: h2, record: r})
		}
		rest = next
	}
	return out
}

// summary renders records as "offset:key=value@ts" for comparison; a null
// value shows as "<nil>".
func summary(records []decoded) []string {
	s := make([]string, len(records))
	for i, d := range records {
		r := d.record
		value := string(r.Value)
		if r.Value == nil {
			value = "<nil>"
		}
		key := string(r.Key)
		if r.Key == nil {
			key = "<nil>"
		}
		if d.header.Attributes.Control() {
			key, value = "control", "commit"
		}
		s[i] = fmtRecord(r.Offset, key, value, r.Timestamp)
	}
	return s
}
