package batch

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchBatchBytes is the uncompressed batch size the benchmarks fill.
const benchBatchBytes = 64 << 10

var benchCodecs = []Codec{CodecNone, CodecLZ4, CodecZstd, CodecSnappy, CodecGzip}

// benchValues returns n JSON-like log lines of size bytes each, so the
// codecs see realistic redundancy rather than zeros or noise.
func benchValues(n, size int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	levels := []string{"info", "warn", "error", "debug"}
	paths := []string{"/api/v1/orders", "/api/v1/users", "/healthz", "/api/v2/search"}
	words := []string{"request", "handled", "by", "worker", "cache", "miss", "for", "user", "order",
		"retrying", "upstream", "timeout", "after", "ms", "connection", "reset", "ok", "queued", "shard", "replica"}
	values := make([][]byte, n)
	for i := range values {
		line := fmt.Appendf(nil, `{"ts":%d,"level":"%s","path":"%s","status":%d,"latency_us":%d,"trace":"%016x","msg":"`,
			1_700_000_000_000+int64(i), levels[rng.IntN(4)], paths[rng.IntN(4)], 200+rng.IntN(4)*100,
			rng.IntN(50_000), rng.Uint64())
		for len(line) < size-2 {
			line = append(line, words[rng.IntN(len(words))]...)
			line = append(line, ' ')
		}
		values[i] = append(line[:size-2], '"', '}')
	}
	return values
}

// benchBuilder fills b with records of values until the batch reaches
// benchBatchBytes and returns how many it took.
func benchFill(b *Builder, values [][]byte) int {
	n := 0
	for b.EstimatedSize() < benchBatchBytes {
		v := values[n%len(values)]
		b.Append(1_700_000_000_000+int64(n), nil, v, nil)
		n++
	}
	return n
}

func benchmarkBuild(b *testing.B, codec Codec, size int) {
	values := benchValues(1024, size)
	opts := DefaultEncodeOptions()
	opts.Codec = codec
	builder := NewBuilder(opts)
	benchFill(builder, values)
	var out []byte
	b.SetBytes(int64(builder.EstimatedSize()))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		builder.Reset(opts)
		benchFill(builder, values)
		var err error
		if out, err = builder.AppendTo(out[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(builder.EstimatedSize())/float64(len(out)), "ratio")
}

func benchBatch(b *testing.B, codec Codec, size int) []byte {
	opts := DefaultEncodeOptions()
	opts.Codec = codec
	builder := NewBuilder(opts)
	benchFill(builder, benchValues(1024, size))
	batch, err := builder.Build()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(builder.EstimatedSize()))
	b.ReportAllocs()
	b.ResetTimer()
	return batch
}

func benchmarkDecode(b *testing.B, codec Codec, size int) {
	batch := benchBatch(b, codec, size)
	for range b.N {
		if _, _, err := Decode(batch); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkForEach(b *testing.B, codec Codec, size int) {
	batch := benchBatch(b, codec, size)
	var n int
	count := func(r Record) error { n += len(r.Value); return nil }
	for range b.N {
		if err := ForEach(batch, count); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuilder(b *testing.B) {
	for _, size := range []int{100, 1024} {
		for _, codec := range benchCodecs {
			b.Run(fmt.Sprintf("%s/%dB", codec, size), func(b *testing.B) { benchmarkBuild(b, codec, size) })
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, size := range []int{100, 1024} {
		for _, codec := range benchCodecs {
			b.Run(fmt.Sprintf("%s/%dB", codec, size), func(b *testing.B) { benchmarkDecode(b, codec, size) })
		}
	}
}

func BenchmarkForEach(b *testing.B) {
	for _, size := range []int{100, 1024} {
		for _, codec := range benchCodecs {
			b.Run(fmt.Sprintf("%s/%dB", codec, size), func(b *testing.B) { benchmarkForEach(b, codec, size) })
		}
	}
}

// BenchmarkCheck measures the produce validation of one 64 KiB batch.
func BenchmarkCheck(b *testing.B) {
	for _, size := range []int{100, 1024} {
		for _, codec := range []Codec{CodecNone, CodecZstd} {
			b.Run(fmt.Sprintf("%s/%dB", codec, size), func(b *testing.B) {
				raw := benchBatch(b, codec, size)
				for range b.N {
					if _, err := Check(raw, CheckOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRecompress measures re-encoding one 64 KiB batch of 1 KiB
// records in a topic's codec (compression.type), which the leader does
// when the producer's codec differs.
func BenchmarkRecompress(b *testing.B) {
	for _, c := range [][2]Codec{{CodecGzip, CodecZstd}, {CodecNone, CodecZstd}, {CodecZstd, CodecNone}, {CodecNone, CodecLZ4}} {
		b.Run(fmt.Sprintf("%s-to-%s", c[0], c[1]), func(b *testing.B) {
			raw := benchBatch(b, c[0], 1024)
			for range b.N {
				if _, err := Recompress(raw, c[1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
