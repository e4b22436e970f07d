package compaction

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
)

func BenchmarkCompact10kRecords1kKeys(b *testing.B)     { benchCompact(b, batch.CodecNone, 1000) }
func BenchmarkCompact10kRecords1kKeysZstd(b *testing.B) { benchCompact(b, batch.CodecZstd, 1000) }
func BenchmarkCompact10kRecords10kKeys(b *testing.B)    { benchCompact(b, batch.CodecNone, 10_000) }

// benchCompact compacts one segment of 1,000 batches of 10 records with
// 100-byte values spread over keys distinct keys.
func benchCompact(b *testing.B, codec batch.Codec, keys int) {
	const batches, perBatch = 1000, 10
	opts := batch.DefaultEncodeOptions()
	opts.Codec = codec
	value := bytes.Repeat([]byte("v"), 100)
	var segment []byte
	for i := range batches {
		recs := make([]rec, perBatch)
		for j := range recs {
			n := (i*perBatch + j) * 7919 % keys
			recs[j] = rec{key: fmt.Appendf(nil, "key-%06d", n), value: value, ts: int64(i)}
		}
		segment = append(segment, encodeBatch(b, int64(i*perBatch), opts, recs...)...)
	}
	inputs := []Input{BytesInput("bench", segment)}
	discard := WriterFunc(func(int, []byte) error { return nil })
	b.SetBytes(int64(len(segment)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compact(inputs, discard, Options{Now: time.UnixMilli(0)}); err != nil {
			b.Fatal(err)
		}
	}
}
