package client

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// BenchmarkProducerRecord measures the producer's per-record path
// (ProduceAsync: partitioning, buffering, appending to the open batch)
// against the in-process fake broker, one op per record. allocs/op is
// the allocations of one record, the per-batch ones shared among the
// records of a batch: 0 when a record allocates nothing of its own.
func BenchmarkProducerRecord(b *testing.B) {
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("value=%dB", size), func(b *testing.B) {
			c, fb := newFakeClient(b)
			fb.addTopic("bench", 1, nil)
			p := newTestProducer(b, c, ProducerConfig{Acks: AcksLeader, Idempotence: IdempotenceOff})
			ctx := context.Background()
			rec := &Record{Topic: "bench", Partition: 0, Key: []byte("key"), Value: make([]byte, size)}
			// Warm: metadata cached, sender started, pools filled.
			if _, _, err := p.Produce(ctx, rec); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				p.ProduceAsync(ctx, rec, nil)
			}
			if err := p.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkConsumerDecode measures the consumer's decode of one fetched
// 64 KiB-ish batch of uncompressed records into Records, one op per
// record: the records share one slab and alias the fetched bytes, so
// allocs/op is 0 when nothing is allocated per record.
func BenchmarkConsumerDecode(b *testing.B) {
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("value=%dB", size), func(b *testing.B) {
			n := (64 << 10) / size
			bl := batch.NewBuilder(batch.EncodeOptions{})
			value := make([]byte, size)
			for i := range n {
				bl.Append(int64(i), []byte("key"), value, nil)
			}
			data, err := bl.Build()
			if err != nil {
				b.Fatal(err)
			}
			res := &fetchResult{res: &messages.FetchResponse{Records: data, HighWatermark: int64(n)}}
			cs := &Consumer{}
			tp := TopicPartition{Topic: "bench"}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for decoded := 0; decoded < b.N; {
				recs, _, err := cs.decode(tp, res, 0)
				if err != nil || len(recs) != n {
					b.Fatalf("decoded %d records, %v; want %d", len(recs), err, n)
				}
				decoded += len(recs)
			}
		})
	}
}
