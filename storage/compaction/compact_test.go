package compaction

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
)

func fmtRecord(offset int64, key, value string, ts int64) string {
	return fmt.Sprintf("%d:%s=%s@%d", offset, key, value, ts)
}

var testNow = time.UnixMilli(1_000_000_000)

func TestCompactKeepsLatestPerKey(t *testing.T) {
	seg0 := concat(
		plainBatch(t, 0, kv("a", "a1", 100), kv("b", "b1", 101), kv("a", "a2", 102)),
		plainBatch(t, 3, kv("c", "c1", 103), unkeyed("x", 104)),
	)
	seg1 := concat(
		plainBatch(t, 5, kv("b", "b2", 105), kv("a", "a3", 106)),
		controlBatch(t, 7),
		plainBatch(t, 8, kv("d", "d1", 108)),
	)
	out, stats := compact(t, [][]byte{seg0, seg1}, Options{Now: testNow})

	assertRecords(t, out[0], "3:c=c1@103", "4:<nil>=x@104")
	assertRecords(t, out[1], "5:b=b2@105", "6:a=a3@106", "7:control=commit@1000", "8:d=d1@108")
	want := Stats{
		Keys: 4, BatchesRead: 5, BatchesWritten: 4, RecordsRead: 9, RecordsKept: 6,
		BytesRead: int64(len(seg0) + len(seg1)), BytesWritten: int64(len(out[0]) + len(out[1])),
		InputsCleaned: 2, NextOffset: 9,
	}
	if stats != want {
		t.Fatalf("Stats = %+v\nwant    %+v", stats, want)
	}
	// Batches that keep every record are copied byte for byte.
	if !bytes.Contains(out[1], controlBatch(t, 7)) || !bytes.Contains(out[1], plainBatch(t, 8, kv("d", "d1", 108))) {
		t.Fatal("untouched batches were not copied unchanged")
	}
}

func TestCompactTombstoneHorizon(t *testing.T) {
	const segmentMaxTs = 500_000
	segments := func() [][]byte {
		return [][]byte{
			plainBatch(t, 0, kv("a", "a1", 1000), kv("b", "b1", 1001), kv("a", "a2", 1002)),
			plainBatch(t, 3, tombstone("a", segmentMaxTs-1), kv("b", "b2", segmentMaxTs)),
		}
	}
	cases := []struct {
		name      string
		opts      Options
		wantSeg1  []string
		wantTombs int
	}{
		// The segment's newest record is within DeleteRetention of now:
		// the tombstone stays so consumers can see the delete.
		{"before horizon", Options{Now: time.UnixMilli(segmentMaxTs + 1000), DeleteRetention: time.Hour},
			[]string{"3:a=<nil>@499999", "4:b=b2@500000"}, 0},
		// Exactly at the horizon is not older than it.
		{"at horizon", Options{Now: time.UnixMilli(segmentMaxTs + 1000), DeleteRetention: time.Second},
			[]string{"3:a=<nil>@499999", "4:b=b2@500000"}, 0},
		// Past the horizon the tombstone goes too.
		{"after horizon", Options{Now: time.UnixMilli(segmentMaxTs + 1001), DeleteRetention: time.Second},
			[]string{"4:b=b2@500000"}, 1},
		// Zero DeleteRetention is the 24h default.
		{"default retention kept", Options{Now: time.UnixMilli(segmentMaxTs).Add(23 * time.Hour)},
			[]string{"3:a=<nil>@499999", "4:b=b2@500000"}, 0},
		{"default retention dropped", Options{Now: time.UnixMilli(segmentMaxTs).Add(25 * time.Hour)},
			[]string{"4:b=b2@500000"}, 1},
		// Negative retention drops tombstones at once.
		{"negative retention", Options{Now: time.UnixMilli(segmentMaxTs), DeleteRetention: -1},
			[]string{"4:b=b2@500000"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, stats := compact(t, segments(), tc.opts)
			assertRecords(t, out[0])
			assertRecords(t, out[1], tc.wantSeg1...)
			if stats.TombstonesDropped != tc.wantTombs {
				t.Fatalf("TombstonesDropped = %d, want %d", stats.TombstonesDropped, tc.wantTombs)
			}
		})
	}
	// A superseded tombstone goes whatever its age.
	t.Run("superseded tombstone", func(t *testing.T) {
		seg := concat(
			plainBatch(t, 0, tombstone("a", 10)),
			plainBatch(t, 1, kv("a", "back", 11)),
		)
		out, _ := compact(t, [][]byte{seg}, Options{Now: time.UnixMilli(20), DeleteRetention: time.Hour})
		assertRecords(t, out[0], "1:a=back@11")
	})
}

// A batch that loses records in its middle is split into runs of
// consecutive offsets, each keeping the batch-level fields.
func TestCompactSplitsRunsKeepingBatchFields(t *testing.T) {
	for _, codec := range []batch.Codec{batch.CodecNone, batch.CodecGzip, batch.CodecSnappy, batch.CodecLZ4, batch.CodecZstd} {
		t.Run(codec.String(), func(t *testing.T) {
			opts := batch.EncodeOptions{
				Codec: codec, ProducerID: 42, ProducerEpoch: 3, BaseSequence: 100,
				Transactional: true, PartitionLeaderEpoch: 9,
			}
			lastOpts := opts
			lastOpts.BaseSequence = 105
			seg := concat(
				encodeBatch(t, 10, opts,
					kv("a", "a1", 500), kv("b", "b1", 501), kv("c", "c1", 502), kv("d", "d1", 503), kv("e", "e1", 504)),
				plainBatch(t, 15, kv("c", "c2", 505), kv("e", "e2", 506)),
				// The producer's last batch, so the one above is cleaned
				// like any other.
				encodeBatch(t, 17, lastOpts, kv("f", "f1", 507)),
			)
			out, _ := compact(t, [][]byte{seg}, Options{Now: testNow})
			got := decodeAll(t, out[0])
			assertRecords(t, out[0], "10:a=a1@500", "11:b=b1@501", "13:d=d1@503", "15:c=c2@505", "16:e=e2@506", "17:f=f1@507")

			type fields struct {
				base      int64
				count     int32
				seq       int32
				producer  int64
				epoch     int16
				codec     batch.Codec
				txn       bool
				leaderEpo int32
			}
			var batches []fields
			for rest := out[0]; len(rest) > 0; {
				h, _, next, err := batch.Next(rest)
				if err != nil {
					t.Fatal(err)
				}
				batches = append(batches, fields{h.BaseOffset, h.RecordCount, h.BaseSequence, h.ProducerID,
					h.ProducerEpoch, h.Attributes.Codec(), h.Attributes.Transactional(), h.PartitionLeaderEpoch})
				rest = next
			}
			want := []fields{
				{10, 2, 100, 42, 3, codec, true, 9},
				{13, 1, 103, 42, 3, codec, true, 9},
				{15, 2, -1, -1, -1, batch.CodecNone, false, -1}, // untouched
				{17, 1, 105, 42, 3, codec, true, 9},
			}
			if !reflect.DeepEqual(batches, want) {
				t.Fatalf("batches = %+v\nwant      %+v", batches, want)
			}
			if len(got) != 6 {
				t.Fatalf("decoded %d records, want 6", len(got))
			}
		})
	}
}

// The last record of a producer's last batch survives even when its key
// was superseded, so the producer's epoch and last sequence stay in the
// log; earlier batches of the producer are cleaned normally.
func TestCompactKeepsProducerState(t *testing.T) {
	opts := batch.DefaultEncodeOptions()
	opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence = 7, 2, 0
	last := opts
	last.BaseSequence = 2
	seg := concat(
		encodeBatch(t, 0, opts, kv("a", "1", 1), kv("b", "1", 2)),
		encodeBatch(t, 2, last, kv("a", "2", 3), kv("b", "2", 4)),
		plainBatch(t, 4, kv("a", "3", 5), kv("b", "3", 6)),
	)
	out, stats := compact(t, [][]byte{seg}, Options{Now: testNow})
	assertRecords(t, out[0], "3:b=2@4", "4:a=3@5", "5:b=3@6")
	if stats.ProducerBatches != 1 {
		t.Fatalf("ProducerBatches = %d, want 1", stats.ProducerBatches)
	}
	h, err := batch.ParseHeader(out[0])
	if err != nil {
		t.Fatal(err)
	}
	if h.BaseOffset != 3 || h.ProducerID != 7 || h.ProducerEpoch != 2 || h.BaseSequence != 3 {
		t.Fatalf("producer batch = %+v, want offset 3, producer 7 epoch 2 sequence 3", h)
	}
}

func TestCompactSequenceWraps(t *testing.T) {
	opts := batch.DefaultEncodeOptions()
	opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence = 1, 0, 2147483646
	seg := concat(
		encodeBatch(t, 0, opts, kv("a", "1", 1), kv("b", "1", 2), kv("c", "1", 3), kv("d", "1", 4)),
		plainBatch(t, 4, kv("a", "2", 5)),
	)
	out, _ := compact(t, [][]byte{seg}, Options{Now: testNow})
	h, err := batch.ParseHeader(out[0])
	if err != nil {
		t.Fatal(err)
	}
	// Sequences run MaxInt32-1, MaxInt32, 0, 1 over offsets 0-3; with
	// offset 0 superseded the run starts at offset 1 with MaxInt32.
	if h.BaseOffset != 1 || h.BaseSequence != 2147483647 {
		t.Fatalf("first cleaned batch at %d with sequence %d, want 1 and MaxInt32", h.BaseOffset, h.BaseSequence)
	}
	seg2 := concat(
		encodeBatch(t, 0, opts, kv("a", "1", 1), kv("b", "1", 2), kv("c", "1", 3)),
		plainBatch(t, 3, kv("a", "2", 5), kv("b", "2", 6)),
	)
	// With offsets 0 and 1 superseded the run starts at 2, wrapped to 0.
	out, _ = compact(t, [][]byte{seg2}, Options{Now: testNow})
	if h, err = batch.ParseHeader(out[0]); err != nil {
		t.Fatal(err)
	}
	if h.BaseOffset != 2 || h.BaseSequence != 0 {
		t.Fatalf("first cleaned batch at %d with sequence %d, want 2 and 0", h.BaseOffset, h.BaseSequence)
	}
}

// Compacting the output again changes nothing, byte for byte.
func TestCompactIdempotent(t *testing.T) {
	zstd := batch.DefaultEncodeOptions()
	zstd.Codec = batch.CodecZstd
	segments := [][]byte{
		concat(
			plainBatch(t, 0, kv("a", "1", 1), kv("b", "1", 2), kv("a", "2", 3), tombstone("c", 4)),
			encodeBatch(t, 4, zstd, kv("d", "1", 5), kv("b", "2", 6), kv("e", "1", 7), kv("d", "2", 8)),
		),
		concat(
			plainBatch(t, 8, kv("e", "2", 9), unkeyed("u", 10)),
			controlBatch(t, 10),
			plainBatch(t, 11, tombstone("a", 12), kv("f", "1", 13)),
		),
	}
	opts := Options{Now: time.UnixMilli(14), DeleteRetention: time.Hour}
	once, stats1 := compact(t, segments, opts)
	twice, stats2 := compact(t, once, opts)
	for i := range once {
		if !bytes.Equal(once[i], twice[i]) {
			t.Fatalf("segment %d differs after a second compaction:\n%q\n%q",
				i, summary(decodeAll(t, once[i])), summary(decodeAll(t, twice[i])))
		}
	}
	if stats2.RecordsKept != stats1.RecordsKept || stats2.RecordsRead != stats1.RecordsKept {
		t.Fatalf("second pass stats %+v after %+v", stats2, stats1)
	}
	assertRecords(t, once[0], "3:c=<nil>@4", "5:b=2@6", "7:d=2@8")
	assertRecords(t, once[1], "8:e=2@9", "9:<nil>=u@10", "10:control=commit@1000", "11:a=<nil>@12", "12:f=1@13")
}

func TestCompactFiles(t *testing.T) {
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "00000000000000000000.log"), filepath.Join(dir, "00000000000000000003.log")}
	contents := [][]byte{
		plainBatch(t, 0, kv("k", "1", 1), kv("j", "1", 2), kv("k", "2", 3)),
		plainBatch(t, 3, kv("j", "2", 4)),
	}
	inputs := make([]Input, len(paths))
	outs := make([]*os.File, len(paths))
	for i, p := range paths {
		if err := os.WriteFile(p, contents[i], 0o644); err != nil {
			t.Fatal(err)
		}
		inputs[i] = FileInput(p)
		f, err := os.Create(p + ".cleaned")
		if err != nil {
			t.Fatal(err)
		}
		outs[i] = f
	}
	_, err := Compact(inputs, WriterFunc(func(input int, b []byte) error {
		_, err := outs[input].Write(b)
		return err
	}), Options{Now: testNow})
	if err != nil {
		t.Fatalf("Compact: %v", err)
	}
	for _, f := range outs {
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range paths {
		b, err := os.ReadFile(p + ".cleaned")
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{{"2:k=2@3"}, {"3:j=2@4"}}[i]
		assertRecords(t, b, want...)
	}
	if _, err := Compact([]Input{FileInput(filepath.Join(dir, "absent.log"))}, newBufferWriter(1), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Compact of a missing file = %v, want ErrNotExist", err)
	}
}

func TestCompactRejectsCorruptInput(t *testing.T) {
	good := concat(
		plainBatch(t, 0, kv("a", "1", 1), kv("b", "1", 2)),
		plainBatch(t, 2, kv("a", "2", 3)),
	)
	first, err := batch.ParseHeader(good)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"flipped record byte": flip(good, batch.HeaderSize+2),
		"flipped crc":         flip(good, 18),
		"torn tail":           good[:len(good)-5],
		"torn header":         good[:first.Size()+7],
		"bad length":          flip(good, 8),
		"offsets go back": concat(
			plainBatch(t, 5, kv("a", "1", 1)),
			plainBatch(t, 3, kv("a", "2", 2)),
		),
	}
	for name, seg := range cases {
		t.Run(name, func(t *testing.T) {
			w := newBufferWriter(1)
			_, err := Compact([]Input{BytesInput("seg", seg)}, w, Options{Now: testNow})
			if !errors.Is(err, ErrCorruptInput) {
				t.Fatalf("Compact = %v, want ErrCorruptInput", err)
			}
		})
	}
	// Offsets must also increase from one input to the next.
	_, err = Compact([]Input{BytesInput("a", good), BytesInput("b", good)}, newBufferWriter(2), Options{Now: testNow})
	if !errors.Is(err, ErrCorruptInput) {
		t.Fatalf("Compact of overlapping inputs = %v, want ErrCorruptInput", err)
	}
}

func TestCompactWriterError(t *testing.T) {
	boom := errors.New("disk full")
	seg := plainBatch(t, 0, kv("a", "1", 1))
	_, err := Compact([]Input{BytesInput("seg", seg)}, WriterFunc(func(int, []byte) error { return boom }), Options{Now: testNow})
	if !errors.Is(err, boom) {
		t.Fatalf("Compact = %v, want the writer's error", err)
	}
}

func TestCompactOpenError(t *testing.T) {
	boom := errors.New("cannot open")
	in := Input{Name: "seg", Open: func() (io.ReadCloser, error) { return nil, boom }}
	if _, err := Compact([]Input{in}, newBufferWriter(1), Options{}); !errors.Is(err, boom) {
		t.Fatalf("Compact = %v, want the open error", err)
	}
}

func TestCompactEmpty(t *testing.T) {
	out, stats := compact(t, [][]byte{nil, {}}, Options{})
	if len(out[0]) != 0 || len(out[1]) != 0 || stats.NextOffset != -1 || stats.BatchesRead != 0 {
		t.Fatalf("empty inputs gave %v, %+v", out, stats)
	}
	if stats, err := Compact(nil, newBufferWriter(0), Options{}); err != nil || stats.NextOffset != -1 {
		t.Fatalf("Compact(nil) = %+v, %v", stats, err)
	}
}

func assertRecords(t *testing.T, segment []byte, want ...string) {
	t.Helper()
	got := summary(decodeAll(t, segment))
	if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
		t.Fatalf("records = %q\nwant      %q", got, want)
	}
}

func concat(batches ...[]byte) []byte { return bytes.Join(batches, nil) }

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0xff
	return c
}

// With MapFrom, the inputs before it are taken as clean: their records
// stay unless a mapped input supersedes them.
func TestCompactMapFromKeepsCleanInputs(t *testing.T) {
	clean := concat(plainBatch(t, 0, kv("a", "a1", 1), kv("b", "b1", 2)))
	dirty := concat(plainBatch(t, 2, kv("b", "b2", 3), kv("c", "c1", 4)))
	out, stats := compact(t, [][]byte{clean, dirty}, Options{Now: testNow, MapFrom: 1})
	assertRecords(t, out[0], "0:a=a1@1")
	assertRecords(t, out[1], "2:b=b2@3", "3:c=c1@4")
	if stats.Keys != 2 || stats.InputsCleaned != 2 {
		t.Fatalf("stats %+v, want 2 keys mapped and 2 inputs cleaned", stats)
	}
}

// MaxKeys stops the offset map at the input that fills it; only the
// inputs before it are cleaned, and correctly.
func TestCompactMaxKeysCleansAPrefix(t *testing.T) {
	in := [][]byte{
		concat(plainBatch(t, 0, kv("a", "1", 1), kv("b", "1", 2))),
		concat(plainBatch(t, 2, kv("a", "2", 3), kv("c", "1", 4))),
		concat(plainBatch(t, 4, kv("d", "1", 5), kv("e", "1", 6), kv("b", "2", 7))),
	}
	out, stats := compact(t, in, Options{Now: testNow, MaxKeys: 4})
	if stats.InputsCleaned != 2 {
		t.Fatalf("InputsCleaned = %d, want 2", stats.InputsCleaned)
	}
	// b's record in input 2, mapped before the map filled, still
	// supersedes the one in input 0.
	assertRecords(t, out[0])
	assertRecords(t, out[1], "2:a=2@3", "3:c=1@4")
	if len(out) > 2 && len(out[2]) != 0 {
		t.Fatalf("input 2 was written although not cleaned")
	}
}
