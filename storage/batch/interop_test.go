package batch

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// franzCodec is the franz-go compression option for codec.
func franzCodec(codec Codec) kgo.CompressionCodec {
	switch codec {
	case CodecGzip:
		return kgo.GzipCompression()
	case CodecSnappy:
		return kgo.SnappyCompression()
	case CodecLZ4:
		return kgo.Lz4Compression()
	case CodecZstd:
		return kgo.ZstdCompression()
	}
	return kgo.NoCompression()
}

// franzDecode parses one batch with kmsg and franz-go's decompressor.
func franzDecode(t *testing.T, b []byte) (kmsg.RecordBatch, []kmsg.Record) {
	t.Helper()
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(b); err != nil {
		t.Fatalf("kmsg.RecordBatch.ReadFrom: %v", err)
	}
	raw, err := kgo.DefaultDecompressor().Decompress(rb.Records, kgo.CompressionCodecType(rb.Attributes&0x07))
	if err != nil {
		t.Fatalf("franz-go decompress: %v", err)
	}
	var recs []kmsg.Record
	for len(raw) > 0 {
		length, n := binary.Varint(raw)
		if n <= 0 || int(length)+n > len(raw) {
			t.Fatalf("bad record length prefix")
		}
		var r kmsg.Record
		if err := r.ReadFrom(raw[:n+int(length)]); err != nil {
			t.Fatalf("kmsg.Record.ReadFrom: %v", err)
		}
		recs = append(recs, r)
		raw = raw[n+int(length):]
	}
	return rb, recs
}

// TestBatchInteropFranzDecodes checks that franz-go reads batches encoded
// here: kmsg field by field, and kgo's fetch processing as a consumer does.
func TestBatchInteropFranzDecodes(t *testing.T) {
	for _, codec := range allCodecs {
		t.Run(codec.String(), func(t *testing.T) {
			want := testRecords(200)
			opts := EncodeOptions{Codec: codec, ProducerID: 77, ProducerEpoch: 2, BaseSequence: 10, PartitionLeaderEpoch: 4}
			b, err := Encode(want, opts)
			if err != nil {
				t.Fatal(err)
			}
			SetBaseOffset(b, 1000)
			for i := range want {
				want[i].Offset += 1000
			}

			rb, recs := franzDecode(t, b)
			if rb.FirstOffset != 1000 || rb.Magic != 2 || rb.Attributes != int16(codec) ||
				rb.ProducerID != 77 || rb.ProducerEpoch != 2 || rb.FirstSequence != 10 ||
				rb.PartitionLeaderEpoch != 4 || rb.NumRecords != 200 || rb.LastOffsetDelta != 199 ||
				rb.FirstTimestamp != want[0].Timestamp || int(rb.Length) != len(b)-LogOverhead {
				t.Fatalf("kmsg batch %+v", rb)
			}
			got := make([]Record, len(recs))
			for i, r := range recs {
				got[i] = Record{
					Offset:    rb.FirstOffset + int64(r.OffsetDelta),
					Timestamp: rb.FirstTimestamp + r.TimestampDelta64,
					Key:       r.Key,
					Value:     r.Value,
				}
				for _, h := range r.Headers {
					got[i].Headers = append(got[i].Headers, RecordHeader{Key: h.Key, Value: h.Value})
				}
			}
			sameRecords(t, got, want)

			// Two copies back to back, the second cut short, as a fetch
			// response may carry them.
			second := bytes.Clone(b)
			SetBaseOffset(second, 1200)
			fetched := append(bytes.Clone(b), second[:len(second)/2]...)
			fp, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{},
				&kmsg.FetchResponseTopicPartition{RecordBatches: fetched}, kgo.DefaultDecompressor(), nil)
			if fp.Err != nil {
				t.Fatalf("kgo: %v", fp.Err)
			}
			if len(fp.Records) != len(want) {
				t.Fatalf("kgo returned %d records, want %d", len(fp.Records), len(want))
			}
			for i, r := range fp.Records {
				w := want[i]
				if r.Offset != w.Offset || r.Timestamp.UnixMilli() != w.Timestamp || !bytes.Equal(r.Key, w.Key) ||
					!bytes.Equal(r.Value, w.Value) || len(r.Headers) != len(w.Headers) ||
					r.ProducerID != 77 || r.ProducerEpoch != 2 || r.LeaderEpoch != 4 {
					t.Fatalf("kgo record %d: %+v, want %+v", i, r, w)
				}
				for j, h := range r.Headers {
					if h.Key != w.Headers[j].Key || !bytes.Equal(h.Value, w.Headers[j].Value) {
						t.Fatalf("kgo record %d header %d: %+v", i, j, h)
					}
				}
			}
		})
	}
}

// franzEncode builds a batch the way a franz-go based producer does:
// kmsg.Records, compressed with kgo's compressor, in a kmsg.RecordBatch
// whose length and CRC are filled per Kafka.
func franzEncode(t *testing.T, recs []Record, codec Codec, frame func([]byte) []byte) []byte {
	t.Helper()
	var raw []byte
	for i, r := range recs {
		kr := kmsg.Record{
			TimestampDelta64: r.Timestamp - recs[0].Timestamp,
			OffsetDelta:      int32(i),
			Key:              r.Key,
			Value:            r.Value,
		}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		body := kr.AppendTo(nil) // Length 0 takes one byte
		kr.Length = int32(len(body) - 1)
		raw = kr.AppendTo(raw)
	}
	records := raw
	if frame != nil {
		records = frame(raw)
	} else if codec != CodecNone {
		c, err := kgo.DefaultCompressor(franzCodec(codec))
		if err != nil {
			t.Fatal(err)
		}
		out, used := c.Compress(new(bytes.Buffer), raw)
		if used != kgo.CompressionCodecType(codec) {
			t.Fatalf("franz-go compressed with %d, want %s", used, codec)
		}
		records = bytes.Clone(out)
	}
	maxTS := recs[0].Timestamp
	for _, r := range recs {
		maxTS = max(maxTS, r.Timestamp)
	}
	rb := kmsg.RecordBatch{
		FirstOffset:          0,
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           int16(codec),
		LastOffsetDelta:      int32(len(recs) - 1),
		FirstTimestamp:       recs[0].Timestamp,
		MaxTimestamp:         maxTS,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(len(recs)),
		Records:              records,
	}
	b := rb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// xerialFrame frames raw as Java's snappy-java stream does, in blocks of
// blockSize bytes.
func xerialFrame(raw []byte, blockSize int) []byte {
	out := append([]byte{}, xerialMagic...)
	out = binary.BigEndian.AppendUint32(out, 1)
	out = binary.BigEndian.AppendUint32(out, 1)
	for len(raw) > 0 {
		n := min(blockSize, len(raw))
		block := s2.EncodeSnappy(nil, raw[:n])
		out = binary.BigEndian.AppendUint32(out, uint32(len(block)))
		out = append(out, block...)
		raw = raw[n:]
	}
	return out
}

// TestBatchInteropDecodesFranz checks that batches built by franz-go's
// encoders decode here with identical fields, and that xerial-framed snappy
// (Java's framing) decodes too.
func TestBatchInteropDecodesFranz(t *testing.T) {
	type variant struct {
		name  string
		codec Codec
		frame func([]byte) []byte
	}
	variants := []variant{
		{"xerial-snappy", CodecSnappy, func(raw []byte) []byte { return xerialFrame(raw, 32<<10) }},
		{"xerial-snappy-small-blocks", CodecSnappy, func(raw []byte) []byte { return xerialFrame(raw, 100) }},
	}
	for _, c := range allCodecs {
		variants = append(variants, variant{name: c.String(), codec: c})
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			want := testRecords(300)
			b := franzEncode(t, want, v.codec, v.frame)
			h, got, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			sameRecords(t, got, want)
			if h.Attributes.Codec() != v.codec || h.ProducerID != -1 || h.RecordCount != 300 {
				t.Fatalf("header %+v", h)
			}
			n := 0
			if err := ForEach(b, func(r Record) error { n++; return nil }); err != nil || n != 300 {
				t.Fatalf("ForEach: %d records, %v", n, err)
			}
		})
	}
}

// TestControlInteropFranz checks that franz-go sees a control batch built
// here as a transaction marker.
func TestControlInteropFranz(t *testing.T) {
	b, err := EncodeControl(ControlCommit, 5, 1, 3, 1_700_000_000_000)
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{KeepControlRecords: true},
		&kmsg.FetchResponseTopicPartition{RecordBatches: b}, kgo.DefaultDecompressor(), nil)
	if fp.Err != nil || len(fp.Records) != 1 {
		t.Fatalf("kgo: %v, %d records", fp.Err, len(fp.Records))
	}
	r := fp.Records[0]
	if !r.Attrs.IsControl() || !r.Attrs.IsTransactional() || r.ProducerID != 5 || r.ProducerEpoch != 1 {
		t.Fatalf("kgo control record %+v", r)
	}
	var key kmsg.ControlRecordKey
	if err := key.ReadFrom(r.Key); err != nil || key.Version != 0 || key.Type != kmsg.ControlRecordKeyTypeCommit {
		t.Fatalf("kmsg control key %+v, %v", key, err)
	}
	var value kmsg.EndTxnMarker
	if err := value.ReadFrom(r.Value); err != nil || value.Version != 0 || value.CoordinatorEpoch != 3 {
		t.Fatalf("kmsg marker %+v, %v", value, err)
	}

	// And a marker franz-go encodes parses here.
	fk := kmsg.ControlRecordKey{Type: kmsg.ControlRecordKeyTypeAbort}
	fv := kmsg.EndTxnMarker{CoordinatorEpoch: 12}
	typ, epoch, err := ParseControl(Record{Key: fk.AppendTo(nil), Value: fv.AppendTo(nil)})
	if err != nil || typ != ControlAbort || epoch != 12 {
		t.Fatalf("ParseControl: %v %d %v", typ, epoch, err)
	}
}
