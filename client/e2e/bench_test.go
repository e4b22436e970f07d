package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// BenchmarkProduce measures produce throughput through one sluiced
// process, payload bytes only, acks=1.
func BenchmarkProduce(b *testing.B) {
	for _, size := range []int{100, 1024} {
		b.Run(fmt.Sprintf("record=%dB", size), func(b *testing.B) {
			c := clustertest.Start(b, 1, clustertest.WithLogLevel("warn"))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cl, err := client.New(ctx, client.Config{Seeds: []string{c.Addr(0)}})
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = cl.Close(context.Background()) }()
			if _, err := cl.CreateTopic(ctx, "bench", 1, 1, nil); err != nil {
				b.Fatal(err)
			}
			p, err := client.NewProducer(cl, client.ProducerConfig{Acks: client.AcksLeader, BatchBytes: 256 << 10})
			if err != nil {
				b.Fatal(err)
			}
			value := make([]byte, size)
			rec := client.NewRecord("bench", nil, value)
			var wg sync.WaitGroup
			done := func(_ client.RecordMetadata, err error) {
				if err != nil {
					b.Error(err)
				}
				wg.Done()
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				wg.Add(1)
				p.ProduceAsync(context.Background(), rec, done)
			}
			wg.Wait()
			b.StopTimer()
			if err := p.Close(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkConsume measures catch-up reads of 1 KiB records from one
// sluiced process: b.N records are produced first, untimed.
func BenchmarkConsume(b *testing.B) {
	const size = 1024
	c := clustertest.Start(b, 1, clustertest.WithLogLevel("warn"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cl, err := client.New(ctx, client.Config{Seeds: []string{c.Addr(0)}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cl.Close(context.Background()) }()
	if _, err := cl.CreateTopic(ctx, "bench", 1, 1, nil); err != nil {
		b.Fatal(err)
	}
	p, err := client.NewProducer(cl, client.ProducerConfig{Acks: client.AcksLeader, BatchBytes: 256 << 10})
	if err != nil {
		b.Fatal(err)
	}
	rec := client.NewRecord("bench", nil, make([]byte, size))
	for i := 0; i < b.N; i++ {
		p.ProduceAsync(context.Background(), rec, nil)
	}
	if err := p.Close(ctx); err != nil {
		b.Fatal(err)
	}
	cs, err := client.NewConsumer(cl, client.ConsumerConfig{AutoOffsetReset: client.ResetEarliest, FetchMaxBytes: 4 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cs.Close(context.Background()) }()
	cs.Assign(client.TopicPartition{Topic: "bench", Partition: 0})
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		recs, err := cs.Poll(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n += len(recs)
	}
}
