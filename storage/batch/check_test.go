package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// forge edits a copy of b with edit and fixes its length and CRC, as a
// forger recomputing the checksum would.
func forge(b []byte, edit func(b []byte) []byte) []byte {
	return fixBatch(edit(bytes.Clone(b)))
}

func put32(b []byte, off int, v int32) { binary.BigEndian.PutUint32(b[off:], uint32(v)) }
func put64(b []byte, off int, v int64) { binary.BigEndian.PutUint64(b[off:], uint64(v)) }

// timedRecords are records with distinct, unordered timestamps.
func timedRecords(n int) []Record {
	recs := testRecords(n)
	for i := range recs {
		recs[i].Timestamp = 1_700_000_000_000 + int64((i*7)%5)*1000
	}
	return recs
}

func mustEncode(t *testing.T, recs []Record, opts EncodeOptions) []byte {
	t.Helper()
	b, err := Encode(recs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckAcceptsWellFormed(t *testing.T) {
	var all []byte
	for i, codec := range allCodecs {
		opts := DefaultEncodeOptions()
		opts.Codec = codec
		if i%2 == 1 {
			opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence, opts.Transactional = 7, 1, 40, true
		}
		b := mustEncode(t, timedRecords(i+3), opts)
		for _, origin := range []Origin{FromProducer, FromLeader} {
			info, err := Check(b, CheckOptions{Origin: origin})
			if err != nil || info.Batches != 1 || info.Records != int64(i+3) || info.Codecs != 1<<codec {
				t.Fatalf("%s, origin %d: %+v, %v", codec, origin, info, err)
			}
		}
		all = append(all, b...)
	}
	info, err := Check(all, CheckOptions{})
	if err != nil || info.Batches != len(allCodecs) || info.Codecs != 0x1f {
		t.Fatalf("concatenated: %+v, %v", info, err)
	}
	// Sarama-style: baseTimestamp is the smallest timestamp, not the first.
	recs := timedRecords(4)
	sarama := forge(mustEncode(t, recs, DefaultEncodeOptions()), func(b []byte) []byte {
		// Rewrite with base 1_700_000_000_000 (the smallest) and deltas
		// relative to it.
		out := b[:HeaderSize:HeaderSize]
		put64(out, offBaseTimestamp, 1_700_000_000_000)
		for i := range recs {
			out = appendRecord(out, recs[i].Timestamp-1_700_000_000_000, int32(i), recs[i].Key, recs[i].Value, recs[i].Headers)
		}
		return out
	})
	if _, err := Check(sarama, CheckOptions{}); err != nil {
		t.Fatalf("base timestamp = smallest: %v", err)
	}
}

func TestCheckRefusesForgedProduce(t *testing.T) {
	const limit = 64 << 10
	good := mustEncode(t, timedRecords(3), DefaultEncodeOptions())
	one := mustEncode(t, []Record{{Timestamp: 5, Value: []byte("v")}}, DefaultEncodeOptions())
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(appendRecord(nil, 0, 0, nil, make([]byte, 4*limit), nil))
	zw.Close()
	zeros := make([]byte, 4*limit)
	bomb := func(codec Codec) []byte {
		return mustEncode(t, []Record{{Value: zeros}}, EncodeOptions{Codec: codec, ProducerID: -1, BaseSequence: -1})
	}
	edit := func(b []byte, f func(b []byte)) []byte {
		return forge(b, func(b []byte) []byte { f(b); return b })
	}
	records := func(count int32, recs ...[]byte) []byte {
		return rawBatch(t, CodecNone, count, bytes.Join(recs, nil))
	}

	cases := []struct {
		name  string
		batch []byte
		want  []error
	}{
		// Damage: the CRC or the framing does not hold.
		{"bad crc", func() []byte { b := bytes.Clone(good); b[len(b)-1] ^= 1; return b }(), []error{ErrCorruptBatch}},
		{"truncated", good[:len(good)-2], []error{ErrShortBatch}},
		{"short header", good[:20], []error{ErrShortBatch}},
		{"length below header", func() []byte { b := bytes.Clone(good); put32(b, offLength, 10); return b }(), []error{ErrCorruptBatch}},
		{"magic 1", edit(good, func(b []byte) { b[offMagic] = 1 }), []error{ErrInvalidMagic}},
		{"empty", nil, []error{ErrInvalidBatch}},

		// A good CRC over a lying header.
		{"lastOffsetDelta 2^30", edit(one, func(b []byte) { put32(b, offLastOffsetDelta, 1<<30) }), []error{ErrInvalidBatch, ErrRecordCount}},
		{"count above records", edit(one, func(b []byte) { put32(b, offRecordCount, 2); put32(b, offLastOffsetDelta, 1) }), []error{ErrInvalidBatch, ErrRecordCount}},
		{"count below records", edit(good, func(b []byte) { put32(b, offRecordCount, 2); put32(b, offLastOffsetDelta, 1) }), []error{ErrInvalidBatch, ErrRecordCount}},
		{"count 2^30", edit(one, func(b []byte) { put32(b, offRecordCount, 1<<30); put32(b, offLastOffsetDelta, 1<<30-1) }), []error{ErrInvalidBatch, ErrRecordCount}},
		{"count and delta disagree", edit(good, func(b []byte) { put32(b, offLastOffsetDelta, 3) }), []error{ErrInvalidBatch, ErrRecordCount}},
		{"negative count", edit(good, func(b []byte) { put32(b, offRecordCount, -1) }), []error{ErrInvalidBatch, ErrRecordCount}},
		{"no records", rawBatch(t, CodecNone, 0, nil), []error{ErrInvalidBatch, ErrRecordCount}},
		{"wrong maxTimestamp", edit(good, func(b []byte) { put64(b, offMaxTimestamp, 1) }), []error{ErrInvalidBatch}},
		{"wrong baseTimestamp", edit(good, func(b []byte) { put64(b, offBaseTimestamp, 12) }), []error{ErrInvalidBatch}},
		{"baseOffset 5", edit(good, func(b []byte) { put64(b, offBaseOffset, 5) }), []error{ErrInvalidBatch}},
		{"control batch", edit(good, func(b []byte) { b[offAttributes+1] |= byte(attrControl | attrTransactional) }), []error{ErrInvalidBatch}},
		{"log append time", edit(good, func(b []byte) { b[offAttributes+1] |= byte(attrTimestampType) }), []error{ErrInvalidTimestamp}},
		{"unused attribute bit", edit(good, func(b []byte) { b[offAttributes+1] |= 0x40 }), []error{ErrInvalidBatch}},
		{"high attribute bit", edit(good, func(b []byte) { b[offAttributes] |= 0x01 }), []error{ErrInvalidBatch}},
		{"codec 5", edit(good, func(b []byte) { b[offAttributes+1] |= 5 }), []error{ErrInvalidBatch, ErrUnknownCodec}},
		{"producer id without sequence", edit(good, func(b []byte) { put64(b, offProducerID, 3) }), []error{ErrInvalidBatch}},

		// Records that do not parse.
		{"garbage records", records(2, []byte("this is not a record at all")), []error{ErrInvalidBatch}},
		{"bad varint", records(1, bytes.Repeat([]byte{0xff}, 12)), []error{ErrInvalidBatch, ErrBadRecord}},
		{"bad varint inside record", records(1, []byte{14, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0}), []error{ErrInvalidBatch, ErrBadRecord}},
		{"offset delta out of int32", records(1, []byte{16, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x1f, 1, 1, 0, 0, 0, 0, 0, 0, 0}), []error{ErrInvalidBatch, ErrBadRecord}},
		{"negative record length", records(1, append([]byte{1}, record(0, "v")...)), []error{ErrInvalidBatch, ErrBadRecord}},
		{"record length past end", records(1, []byte{40, 0, 0, 0, 1, 1, 0}), []error{ErrInvalidBatch, ErrBadRecord}},
		{"bytes left in record", records(1, func() []byte {
			r := record(0, "v")
			r[0] += 4 // zigzag: the length covers two more bytes than the fields
			return append(r, 0, 0)
		}()), []error{ErrInvalidBatch, ErrBadRecord}},
		{"trailing bytes after records", records(1, record(0, "v"), []byte{0, 0, 0}), []error{ErrInvalidBatch, ErrRecordCount}},
		{"extra record", records(1, record(0, "v"), record(1, "w")), []error{ErrInvalidBatch, ErrRecordCount}},
		{"offset delta gap", records(2, record(0, "a"), record(2, "b")), []error{ErrInvalidBatch, ErrOffsetDelta}},
		{"offset deltas swapped", records(2, record(1, "a"), record(0, "b")), []error{ErrInvalidBatch, ErrOffsetDelta}},
		{"value past record", records(1, []byte{12, 0, 0, 0, 1, 40, 0}), []error{ErrInvalidBatch, ErrBadRecord}},
		{"huge header count", records(1, []byte{14, 0, 0, 0, 1, 1, 0xc8, 0x01}), []error{ErrInvalidBatch, ErrBadRecord}},
		{"null header key", records(1, appendRecordRaw([]byte{0, 0, 0, 1, 0, 2, 1, 0})), []error{ErrInvalidBatch, ErrBadRecord}},
		{"timestamp overflow", edit(good, func(b []byte) { put64(b, offBaseTimestamp, math.MaxInt64) }), []error{ErrInvalidBatch}},

		// Compressed payloads.
		{"gzip bomb", rawBatch(t, CodecGzip, 1, gz.Bytes()), []error{ErrInvalidBatch, ErrDecompressLimit}},
		{"zstd bomb", bomb(CodecZstd), []error{ErrInvalidBatch, ErrDecompressLimit}},
		{"lz4 bomb", bomb(CodecLZ4), []error{ErrInvalidBatch, ErrDecompressLimit}},
		{"snappy bomb", bomb(CodecSnappy), []error{ErrInvalidBatch, ErrDecompressLimit}},
		{"gzip garbage", rawBatch(t, CodecGzip, 1, []byte("not gzip at all")), []error{ErrInvalidBatch, ErrDecompress}},

		// One bad batch refuses a request of good ones.
		{"good then bad", append(bytes.Clone(good), edit(one, func(b []byte) { put32(b, offLastOffsetDelta, 9) })...), []error{ErrInvalidBatch, ErrRecordCount}},
		{"good then torn", append(bytes.Clone(good), one[:30]...), []error{ErrShortBatch}},
	}
	for _, c := range cases {
		_, err := Check(c.batch, CheckOptions{MaxUncompressedBytes: limit})
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, want := range c.want {
			if !errors.Is(err, want) {
				t.Errorf("%s: %v, want %v", c.name, err, want)
			}
		}
		damaged := errors.Is(err, ErrCorruptBatch) || errors.Is(err, ErrShortBatch) || errors.Is(err, ErrInvalidMagic)
		if damaged == (errors.Is(err, ErrInvalidBatch) || errors.Is(err, ErrInvalidTimestamp)) {
			t.Errorf("%s: %v is both or neither damage and invalid content", c.name, err)
		}
	}

	nokey := mustEncode(t, []Record{{Value: []byte("v")}}, DefaultEncodeOptions())
	if _, err := Check(nokey, CheckOptions{RequireKeys: true}); !errors.Is(err, ErrInvalidBatch) {
		t.Errorf("null key on a compacted topic: %v", err)
	}
	if _, err := Check(nokey, CheckOptions{}); err != nil {
		t.Errorf("null key: %v", err)
	}
	if _, err := Check(bomb(CodecGzip), CheckOptions{MaxUncompressedBytes: 8 * limit}); err != nil {
		t.Errorf("compressed batch within a higher limit: %v", err)
	}
}

// appendRecordRaw frames body as one record.
func appendRecordRaw(body []byte) []byte {
	return append(binary.AppendVarint(nil, int64(len(body))), body...)
}

func TestCheckReplicated(t *testing.T) {
	leader := CheckOptions{Origin: FromLeader}
	// What compaction leaves: offset deltas with gaps, lastOffsetDelta
	// kept, fewer records than offsets.
	compacted := forge(rawBatch(t, CodecNone, 2, append(record(0, "a"), record(3, "b")...)), func(b []byte) []byte {
		put32(b, offLastOffsetDelta, 5)
		put64(b, offBaseOffset, 100)
		return b
	})
	ctl, err := EncodeControl(ControlCommit, 9, 2, 4, 1_700_000_000_000)
	if err != nil {
		t.Fatal(err)
	}
	lat := mustEncode(t, timedRecords(3), DefaultEncodeOptions())
	SetLogAppendTime(lat, 1)
	accept := map[string][]byte{
		"compacted":       compacted,
		"empty":           forge(rawBatch(t, CodecNone, 0, nil), func(b []byte) []byte { put32(b, offLastOffsetDelta, 3); return b }),
		"control":         ctl,
		"log append time": lat,
	}
	for name, b := range accept {
		if _, err := Check(b, leader); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := Check(b, CheckOptions{}); err == nil {
			t.Errorf("%s: accepted from a producer", name)
		}
	}
	refuse := map[string][]byte{
		"count above offsets": forge(compacted, func(b []byte) []byte { put32(b, offLastOffsetDelta, 0); return b }),
		"delta past last":     forge(compacted, func(b []byte) []byte { put32(b, offLastOffsetDelta, 2); return b }),
		"deltas falling":      rawBatch(t, CodecNone, 2, append(record(1, "a"), record(0, "b")...)),
		"maxTimestamp below":  forge(lat, func(b []byte) []byte { b[offAttributes+1] &^= byte(attrTimestampType); return b }),
		"control, not txn":    forge(ctl, func(b []byte) []byte { b[offAttributes+1] &^= byte(attrTransactional); return b }),
		"lastOffsetDelta 2^30 and garbage": forge(rawBatch(t, CodecNone, 1, []byte("garbage!")), func(b []byte) []byte {
			put32(b, offLastOffsetDelta, 1<<30)
			return b
		}),
		"unused bit": forge(compacted, func(b []byte) []byte { b[offAttributes+1] |= 0x80; return b }),
	}
	for name, b := range refuse {
		if _, err := Check(b, leader); !errors.Is(err, ErrInvalidBatch) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestCheckAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	plain := mustEncode(t, timedRecords(50), DefaultEncodeOptions())
	zstd := mustEncode(t, timedRecords(50), EncodeOptions{Codec: CodecZstd, ProducerID: -1, BaseSequence: -1})
	for name, b := range map[string][]byte{"none": plain, "zstd": zstd} {
		if _, err := Check(b, CheckOptions{}); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = Check(b, CheckOptions{}) }); n > 0 {
			t.Errorf("%s: Check allocates %.1f times per batch", name, n)
		}
	}
}

// FuzzValidate fuzzes Check, the validation of produced and replicated
// batches. It must never panic; whatever it accepts from a producer it also
// accepts from a leader, and Decode reads it back with offsets 0..n-1 and
// a maxTimestamp equal to the largest record timestamp. Each input is
// tried as is and with its length and CRC fixed, so mutations reach the
// records rather than stopping at the CRC.
func FuzzValidate(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkValidate(t, b)
		if len(b) >= HeaderSize {
			checkValidate(t, fixBatch(bytes.Clone(b)))
		}
	})
}

func checkValidate(t *testing.T, b []byte) {
	opts := CheckOptions{MaxUncompressedBytes: 1 << 20}
	info, err := Check(b, opts)
	leader := opts
	leader.Origin = FromLeader
	if _, lerr := Check(b, leader); err == nil && lerr != nil {
		t.Fatalf("accepted from a producer, refused from a leader: %v", lerr)
	}
	if err != nil {
		return
	}
	n := int64(0)
	for rest := b; len(rest) > 0; {
		h, one, next, err := Next(rest)
		if err != nil {
			t.Fatalf("Check accepted what Next refuses: %v", err)
		}
		_, recs, err := Decode(one)
		if err != nil {
			t.Fatalf("Check accepted what Decode refuses: %v", err)
		}
		hi := recs[0].Timestamp
		for i, r := range recs {
			if r.Offset != int64(i) {
				t.Fatalf("record %d at offset %d", i, r.Offset)
			}
			hi = max(hi, r.Timestamp)
		}
		if hi != h.MaxTimestamp {
			t.Fatalf("maxTimestamp %d, records up to %d", h.MaxTimestamp, hi)
		}
		n += int64(len(recs))
		rest = next
	}
	if n != info.Records {
		t.Fatalf("Check counted %d records, Decode read %d", info.Records, n)
	}
}

// TestVarintAtMatchesBinary checks the hot-path varint reader against
// encoding/binary on edge cases.
func TestVarintAtMatchesBinary(t *testing.T) {
	inputs := [][]byte{{}, {0}, {1}, {0x7f}, {0x80}, {0x80, 0}, {0xff, 0x01},
		bytes.Repeat([]byte{0xff}, 9), append(bytes.Repeat([]byte{0xff}, 9), 1), append(bytes.Repeat([]byte{0xff}, 9), 2),
		append(bytes.Repeat([]byte{0x80}, 9), 1), bytes.Repeat([]byte{0xff}, 11)}
	for _, v := range []int64{0, -1, 1, 63, -64, 64, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64} {
		inputs = append(inputs, binary.AppendVarint(nil, v))
	}
	for _, in := range inputs {
		want, n := binary.Varint(in)
		got, end := varintAt(in, 0)
		if n <= 0 && end >= 0 || n > 0 && (end != n || got != want) {
			t.Errorf("% x: varintAt = %d, %d; binary.Varint = %d, %d", in, got, end, want, n)
		}
	}
}
