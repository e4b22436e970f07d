package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// rawBatch wraps a hand-made records section in a valid header claiming
// count records (lastOffsetDelta count-1) and fixes length and CRC.
func rawBatch(t *testing.T, codec Codec, count int32, records []byte) []byte {
	t.Helper()
	b, err := Encode([]Record{{Value: []byte("x")}}, EncodeOptions{Codec: CodecNone, ProducerID: -1})
	if err != nil {
		t.Fatal(err)
	}
	b = append(b[:HeaderSize:HeaderSize], records...)
	binary.BigEndian.PutUint16(b[offAttributes:], uint16(codec))
	binary.BigEndian.PutUint32(b[offRecordCount:], uint32(count))
	binary.BigEndian.PutUint32(b[offLastOffsetDelta:], uint32(max(count-1, 0)))
	return fixBatch(b)
}

// fixBatch recomputes the length and CRC of b after a test edited it.
func fixBatch(b []byte) []byte {
	binary.BigEndian.PutUint32(b[offLength:], uint32(len(b)-LogOverhead))
	binary.BigEndian.PutUint32(b[offCRC:], Checksum(b))
	return b
}

// record encodes one record with the given offset delta.
func record(offsetDelta int32, value string) []byte {
	return appendRecord(nil, 0, offsetDelta, nil, []byte(value), nil)
}

func TestDecodeRejectsCorruption(t *testing.T) {
	good, err := Encode(testRecords(5), DefaultEncodeOptions())
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	two := append(record(0, "a"), record(1, "b")...)

	cases := []struct {
		name  string
		batch []byte
		want  []error
	}{
		// Framing: CRC, magic, length.
		{"bad crc", edit(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), []error{ErrCorruptBatch}},
		{"crc field flipped", edit(func(b []byte) []byte { b[offCRC] ^= 0x80; return b }), []error{ErrCorruptBatch}},
		{"attributes flipped", edit(func(b []byte) []byte { b[offAttributes+1] ^= 0x10; return b }), []error{ErrCorruptBatch}},
		{"wrong magic", edit(func(b []byte) []byte { b[offMagic] = 1; return b }), []error{ErrInvalidMagic}},
		{"truncated body", good[:len(good)-1], []error{ErrShortBatch}},
		{"truncated header", good[:HeaderSize-1], []error{ErrShortBatch}},
		{"empty", nil, []error{ErrShortBatch}},
		{"trailing bytes", append(bytes.Clone(good), 0), []error{ErrCorruptBatch}}, // ForEach: a partial second batch
		{"length below header", edit(func(b []byte) []byte { binary.BigEndian.PutUint32(b[offLength:], 3); return b }), []error{ErrCorruptBatch}},

		// Record count and offsets.
		{"count above records", rawBatch(t, CodecNone, 3, two), []error{ErrCorruptBatch, ErrRecordCount}},
		{"count below records", rawBatch(t, CodecNone, 1, two), []error{ErrCorruptBatch, ErrRecordCount}},
		{"last offset delta", edit(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[offLastOffsetDelta:], 9)
			return fixBatch(b)
		}), []error{ErrCorruptBatch, ErrRecordCount}},
		{"offset delta gap", rawBatch(t, CodecNone, 2, append(record(0, "a"), record(2, "b")...)), []error{ErrCorruptBatch, ErrOffsetDelta}},

		// Malformed records.
		{"bad varint", rawBatch(t, CodecNone, 1, bytes.Repeat([]byte{0xff}, 11)), []error{ErrCorruptBatch, ErrBadRecord}},
		{"varint above int32", rawBatch(t, CodecNone, 1, binary.AppendVarint(nil, 1<<40)), []error{ErrBadRecord}},
		{"record length past end", rawBatch(t, CodecNone, 1, binary.AppendVarint(nil, 50)), []error{ErrBadRecord}},
		{"negative record length", rawBatch(t, CodecNone, 1, binary.AppendVarint(nil, -2)), []error{ErrBadRecord}},
		{"key past record", rawBatch(t, CodecNone, 1, []byte{10, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0}), []error{ErrBadRecord}},
		{"key length -2", rawBatch(t, CodecNone, 1, []byte{12, 0, 0, 0, 3, 2, 'v', 0}), []error{ErrBadRecord}},
		{"negative header count", rawBatch(t, CodecNone, 1, []byte{10, 0, 0, 0, 1, 1, 1}), []error{ErrBadRecord}},
		{"null header key", rawBatch(t, CodecNone, 1, []byte{14, 0, 0, 0, 1, 1, 2, 1, 1}), []error{ErrBadRecord}},
		{"trailing bytes in record", rawBatch(t, CodecNone, 1, append([]byte{14}, append(record(0, "")[1:], 0)...)), []error{ErrBadRecord}},

		// Codecs.
		{"unknown codec", rawBatch(t, Codec(5), 1, record(0, "a")), []error{ErrUnknownCodec}},
		{"garbage gzip", rawBatch(t, CodecGzip, 1, []byte("not gzip at all")), []error{ErrDecompress}},
		{"garbage snappy", rawBatch(t, CodecSnappy, 1, []byte{5, 0xfe, 0xff, 0xff, 0xff, 0xff}), []error{ErrDecompress}},
		{"garbage lz4", rawBatch(t, CodecLZ4, 1, []byte("not lz4 at all")), []error{ErrDecompress}},
		{"garbage zstd", rawBatch(t, CodecZstd, 1, []byte("not zstd at all")), []error{ErrDecompress}},
		{"bad xerial framing", rawBatch(t, CodecSnappy, 1, append(xerialFrame([]byte("abc"), 10), 0, 0, 0, 9)), []error{ErrDecompress}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, recs, err := Decode(tc.batch)
			if err == nil {
				t.Fatalf("decoded %d records, want error", len(recs))
			}
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Fatalf("got %v, want errors.Is %v", err, want)
				}
			}
			// ForEach agrees, except that a truncated batch is the normal
			// end of a fetched buffer.
			err = ForEach(tc.batch, func(Record) error { return nil })
			if errors.Is(tc.want[0], ErrShortBatch) || tc.name == "trailing bytes" {
				if err != nil {
					t.Fatalf("ForEach on a truncated batch: %v", err)
				}
				return
			}
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Fatalf("ForEach: got %v, want errors.Is %v", err, want)
				}
			}
		})
	}
}

// TestForEachStopsAtCorruptBatch checks that records of the batches before
// a corrupt one are delivered, then the error.
func TestForEachStopsAtCorruptBatch(t *testing.T) {
	first, err := Encode(testRecords(4), DefaultEncodeOptions())
	if err != nil {
		t.Fatal(err)
	}
	second := bytes.Clone(first)
	second[len(second)-1] ^= 0xff
	n := 0
	err = ForEach(append(bytes.Clone(first), second...), func(Record) error { n++; return nil })
	if !errors.Is(err, ErrCorruptBatch) || n != 4 {
		t.Fatalf("got %d records and %v, want 4 then ErrCorruptBatch", n, err)
	}
}

// setDecompressLimit lowers MaxDecompressedBytes for one test.
func setDecompressLimit(t *testing.T, limit int) {
	old := MaxDecompressedBytes
	MaxDecompressedBytes = limit
	t.Cleanup(func() { MaxDecompressedBytes = old })
}

func TestDecodeDecompressionBomb(t *testing.T) {
	const limit = 256 << 10
	setDecompressLimit(t, limit)
	zeros := make([]byte, 4*limit)
	bombs := map[string][]byte{}
	for _, codec := range allCodecs[1:] {
		b, err := Encode([]Record{{Value: zeros}}, EncodeOptions{Codec: codec, ProducerID: -1})
		if err != nil {
			t.Fatal(err)
		}
		bombs[codec.String()] = b
	}
	bombs["xerial-snappy"] = rawBatch(t, CodecSnappy, 1, xerialFrame(zeros, 32<<10))
	// A streamed zstd frame does not declare its content size up front.
	var stream bytes.Buffer
	zw, err := zstd.NewWriter(&stream, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := zw.Write(zeros[:limit]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	bombs["zstd-stream"] = rawBatch(t, CodecZstd, 1, stream.Bytes())
	for name, b := range bombs {
		t.Run(name, func(t *testing.T) {
			if len(b) > limit/4 { // snappy compresses zeros about 20:1
				t.Fatalf("bomb of %d bytes is no bomb", len(b))
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := Decode(b)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrDecompressLimit) {
				t.Fatalf("got %v, want ErrDecompressLimit", err)
			}
			if err := ForEach(b, func(Record) error { return nil }); !errors.Is(err, ErrDecompressLimit) {
				t.Fatalf("ForEach: got %v, want ErrDecompressLimit", err)
			}
			// The decoder may not allocate much past the limit. (Other
			// goroutines count too, so the bound is loose.)
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 8<<20 {
				t.Fatalf("decoding the bomb allocated %d bytes", grown)
			}
		})
	}

	// Just under the limit still decodes.
	fits := make([]byte, limit-100)
	for _, codec := range allCodecs[1:] {
		b, err := Encode([]Record{{Value: fits}}, EncodeOptions{Codec: codec, ProducerID: -1})
		if err != nil {
			t.Fatal(err)
		}
		if _, recs, err := Decode(b); err != nil || len(recs[0].Value) != len(fits) {
			t.Fatalf("%s: batch under the limit: %v", codec, err)
		}
	}
}

// TestDecodeGzipBombDefaultLimit feeds 100 concatenated gzip members of
// 1 MiB of zeros each (about 100 KiB in all, 100 MiB inflated) through the
// default limit.
func TestDecodeGzipBombDefaultLimit(t *testing.T) {
	if raceEnabled {
		t.Skip("inflating 64 MiB takes seconds under the race detector")
	}
	var member bytes.Buffer
	zw, err := gzip.NewWriterLevel(&member, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b := rawBatch(t, CodecGzip, 1, bytes.Repeat(member.Bytes(), 100))
	if _, _, err := Decode(b); !errors.Is(err, ErrDecompressLimit) {
		t.Fatalf("got %v, want ErrDecompressLimit", err)
	}
}
