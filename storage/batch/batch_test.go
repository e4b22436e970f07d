package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

var allCodecs = []Codec{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd}

// testRecords returns n records exercising null and empty keys and values,
// headers and out-of-order timestamps.
func testRecords(n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		r := Record{
			Offset:    int64(i),
			Timestamp: 1_700_000_000_000 + int64(i*7%13) - 5,
			Key:       []byte(fmt.Sprintf("key-%d", i)),
			Value:     bytes.Repeat([]byte(fmt.Sprintf("value %d ", i)), i%5+1),
		}
		switch i % 6 {
		case 1:
			r.Key = nil
		case 2:
			r.Value = nil
		case 3:
			r.Key, r.Value = []byte{}, []byte{}
		case 4:
			r.Headers = []RecordHeader{{Key: "trace", Value: []byte("abc")}, {Key: "", Value: nil}, {Key: "e", Value: []byte{}}}
		}
		recs[i] = r
	}
	return recs
}

// sameRecords fails unless got equals want field by field, nil and empty
// slices told apart.
func sameRecords(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Offset != w.Offset || g.Timestamp != w.Timestamp ||
			!sameBytes(g.Key, w.Key) || !sameBytes(g.Value, w.Value) || len(g.Headers) != len(w.Headers) {
			t.Fatalf("record %d: got %+v, want %+v", i, g, w)
		}
		for j := range w.Headers {
			if g.Headers[j].Key != w.Headers[j].Key || !sameBytes(g.Headers[j].Value, w.Headers[j].Value) {
				t.Fatalf("record %d header %d: got %+v, want %+v", i, j, g.Headers[j], w.Headers[j])
			}
		}
	}
}

func sameBytes(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

func TestBatchRoundTripEveryCodec(t *testing.T) {
	for _, codec := range allCodecs {
		for _, n := range []int{1, 7, 1000} {
			t.Run(fmt.Sprintf("%s/%d", codec, n), func(t *testing.T) {
				opts := EncodeOptions{Codec: codec, ProducerID: 42, ProducerEpoch: 3, BaseSequence: 100,
					Transactional: true, PartitionLeaderEpoch: 9}
				want := testRecords(n)
				b, err := Encode(want, opts)
				if err != nil {
					t.Fatal(err)
				}
				SetBaseOffset(b, 5000)
				h, got, err := Decode(b)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					want[i].Offset += 5000
				}
				sameRecords(t, got, want)
				if h.Attributes.Codec() != codec || !h.Attributes.Transactional() || h.Attributes.Control() ||
					h.ProducerID != 42 || h.ProducerEpoch != 3 || h.BaseSequence != 100 ||
					h.PartitionLeaderEpoch != 9 || h.RecordCount != int32(n) || h.LastOffsetDelta != int32(n-1) {
					t.Fatalf("header %+v", h)
				}
				if h.BaseTimestamp != want[0].Timestamp {
					t.Fatalf("base timestamp %d, want %d", h.BaseTimestamp, want[0].Timestamp)
				}
				var maxTS int64
				for _, r := range want {
					maxTS = max(maxTS, r.Timestamp)
				}
				if h.MaxTimestamp != maxTS {
					t.Fatalf("max timestamp %d, want %d", h.MaxTimestamp, maxTS)
				}

				var walked []Record
				err = ForEach(b, func(r Record) error {
					walked = append(walked, deepCopy(r))
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				sameRecords(t, walked, want)
			})
		}
	}
}

func deepCopy(r Record) Record {
	clone := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		return append([]byte{}, b...)
	}
	c := Record{Offset: r.Offset, Timestamp: r.Timestamp, Key: clone(r.Key), Value: clone(r.Value)}
	for _, h := range r.Headers {
		c.Headers = append(c.Headers, RecordHeader{Key: h.Key, Value: clone(h.Value)})
	}
	return c
}

func TestBuilderReuseMatchesEncode(t *testing.T) {
	recs := testRecords(50)
	b := NewBuilder(DefaultEncodeOptions())
	for round := 0; round < 3; round++ {
		for _, codec := range allCodecs {
			opts := DefaultEncodeOptions()
			opts.Codec = codec
			b.Reset(opts)
			for _, r := range recs {
				b.Append(r.Timestamp, r.Key, r.Value, r.Headers)
			}
			if b.Len() != len(recs) {
				t.Fatalf("Len %d", b.Len())
			}
			got, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			want, err := Encode(recs, opts)
			if err != nil {
				t.Fatal(err)
			}
			if codec == CodecNone && b.EstimatedSize() != len(want) {
				t.Fatalf("EstimatedSize %d, uncompressed batch %d bytes", b.EstimatedSize(), len(want))
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s round %d: Builder and Encode differ", codec, round)
			}
		}
	}
}

func TestBuilderEmpty(t *testing.T) {
	if _, err := NewBuilder(DefaultEncodeOptions()).Build(); !errors.Is(err, ErrEmptyBatch) {
		t.Fatalf("got %v, want ErrEmptyBatch", err)
	}
}

func TestBatchLogAppendTime(t *testing.T) {
	opts := DefaultEncodeOptions()
	opts.LogAppendTime = true
	b, err := Encode(testRecords(3), opts)
	if err != nil {
		t.Fatal(err)
	}
	h, recs, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Timestamp != h.MaxTimestamp {
			t.Fatalf("timestamp %d, want max timestamp %d", r.Timestamp, h.MaxTimestamp)
		}
	}
}

func TestForEachConcatenatedAndPartial(t *testing.T) {
	var buf []byte
	var want []Record
	var next int64
	for i, codec := range allCodecs {
		recs := testRecords(i*3 + 1)
		b, err := Encode(recs, EncodeOptions{Codec: codec, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1})
		if err != nil {
			t.Fatal(err)
		}
		SetBaseOffset(b, next)
		for j := range recs {
			recs[j].Offset = next + int64(j)
		}
		next += int64(len(recs))
		want = append(want, recs...)
		buf = append(buf, b...)
	}
	collect := func(buf []byte) ([]Record, error) {
		var got []Record
		err := ForEach(buf, func(r Record) error {
			got = append(got, deepCopy(r))
			return nil
		})
		return got, err
	}
	got, err := collect(buf)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, got, want)

	// Every cut of the buffer yields the whole batches before the cut.
	for cut := 0; cut < len(buf); cut++ {
		got, err := collect(buf[:cut])
		if err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		whole := 0
		for rest := buf[:cut]; ; {
			h, _, r, err := Next(rest)
			if err != nil {
				break
			}
			whole += int(h.RecordCount)
			rest = r
		}
		sameRecords(t, got, want[:whole])
	}

	stop := errors.New("stop")
	n := 0
	err = ForEach(buf, func(Record) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Fatalf("got %v after %d records, want stop after 3", err, n)
	}
}

func TestRecordVarintLen(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, -64, 64, -65, 8191, 8192, 1 << 40, -1 << 63, 1<<63 - 1} {
		var b [16]byte
		if got, want := varintLen(v), len(binary.AppendVarint(b[:0], v)); got != want {
			t.Fatalf("varintLen(%d) = %d, want %d", v, got, want)
		}
	}
}

func TestVerify(t *testing.T) {
	for _, codec := range allCodecs {
		b, err := Encode(testRecords(20), EncodeOptions{Codec: codec, ProducerID: -1})
		if err != nil {
			t.Fatal(err)
		}
		if h, err := Verify(b); err != nil || h.RecordCount != 20 {
			t.Fatalf("%s: Verify: %+v %v", codec, h, err)
		}
	}
	bad := rawBatch(t, CodecNone, 2, append(record(0, "a"), record(5, "b")...))
	if _, err := Verify(bad); !errors.Is(err, ErrOffsetDelta) {
		t.Fatalf("Verify: got %v, want ErrOffsetDelta", err)
	}
	if _, err := Verify(bad[:len(bad)-1]); !errors.Is(err, ErrShortBatch) {
		t.Fatalf("Verify truncated: got %v, want ErrShortBatch", err)
	}
}

// TestBuilderAppendAllocs checks the producer hot path: once warmed up, a
// reused Builder appends and builds an uncompressed batch without
// allocating, and ForEach walks it without allocating per record.
func TestBuilderAppendAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	value := bytes.Repeat([]byte("v"), 100)
	headers := []RecordHeader{{Key: "k", Value: []byte("h")}}
	b := NewBuilder(DefaultEncodeOptions())
	var out []byte
	build := func() {
		b.Reset(DefaultEncodeOptions())
		for i := range 500 {
			b.Append(int64(i), nil, value, headers)
		}
		var err error
		if out, err = b.AppendTo(out[:0]); err != nil {
			t.Fatal(err)
		}
	}
	build()
	if n := testing.AllocsPerRun(20, build); n != 0 {
		t.Fatalf("Builder: %v allocations per batch of 500 records", n)
	}
	count := 0
	walk := func() {
		if err := ForEach(out, func(Record) error { count++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	walk()
	// Headers are copied into strings (one allocation per header key);
	// the rest is reused.
	if n := testing.AllocsPerRun(20, walk); n > 500+1 {
		t.Fatalf("ForEach: %v allocations for 500 records with one header each", n)
	}
}

func TestSetLogAppendTime(t *testing.T) {
	b, err := Encode(testRecords(4), EncodeOptions{Codec: CodecLZ4, ProducerID: -1})
	if err != nil {
		t.Fatal(err)
	}
	SetLogAppendTime(b, 1_800_000_000_000)
	h, recs, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Attributes.LogAppendTime() || h.Attributes.Codec() != CodecLZ4 || h.MaxTimestamp != 1_800_000_000_000 {
		t.Fatalf("header %+v", h)
	}
	for _, r := range recs {
		if r.Timestamp != 1_800_000_000_000 {
			t.Fatalf("record timestamp %d", r.Timestamp)
		}
	}
}

func TestRecompress(t *testing.T) {
	want := testRecords(30)
	for _, from := range allCodecs {
		for _, to := range allCodecs {
			opts := EncodeOptions{Codec: from, ProducerID: 3, ProducerEpoch: 1, BaseSequence: 7, Transactional: true, PartitionLeaderEpoch: 2}
			b, err := Encode(want, opts)
			if err != nil {
				t.Fatal(err)
			}
			SetBaseOffset(b, 100)
			out, err := Recompress(b, to)
			if err != nil {
				t.Fatalf("%s to %s: %v", from, to, err)
			}
			h, got, err := Decode(out)
			if err != nil {
				t.Fatalf("%s to %s: %v", from, to, err)
			}
			opts.Codec = to
			if h.EncodeOptions() != opts || h.BaseOffset != 100 {
				t.Fatalf("%s to %s: header %+v", from, to, h)
			}
			_, orig, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			sameRecords(t, got, orig)
		}
	}
	ctl, err := EncodeControl(ControlAbort, 1, 1, 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Recompress(ctl, CodecZstd)
	if err != nil {
		t.Fatal(err)
	}
	if h, _, err := Decode(out); err != nil || !h.Attributes.Control() || h.Attributes.Codec() != CodecZstd {
		t.Fatalf("recompressed control batch: %+v %v", h, err)
	}
}
