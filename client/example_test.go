package client_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-mq/sluice/client"
)

// A producer batching records per partition, with delivery callbacks.
func ExampleProducer() {
	ctx := context.Background()
	c, err := client.New(ctx, client.Config{Seeds: []string{"127.0.0.1:9650"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = c.Close(ctx) }()
	if _, err := c.CreateTopic(ctx, "orders", 6, 1, nil); err != nil && !errors.Is(err, client.ErrTopicAlreadyExists) {
		fmt.Println(err)
		return
	}
	p, err := client.NewProducer(c, client.ProducerConfig{Acks: client.AcksAll, Compression: client.CodecLZ4})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := 0; i < 1000; i++ {
		rec := client.NewRecord("orders", []byte(fmt.Sprint("customer-", i%10)), []byte("order"))
		p.ProduceAsync(context.Background(), rec, func(md client.RecordMetadata, err error) {
			if err != nil {
				fmt.Println("not stored:", err)
			}
		})
	}
	if err := p.Close(ctx); err != nil { // flushes
		fmt.Println(err)
	}
}

// A consumer reading one partition from the beginning until it has been
// idle for a second.
func ExampleConsumer() {
	ctx := context.Background()
	c, err := client.New(ctx, client.Config{Seeds: []string{"127.0.0.1:9650"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = c.Close(ctx) }()
	cs, err := client.NewConsumer(c, client.ConsumerConfig{AutoOffsetReset: client.ResetEarliest})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = cs.Close(ctx) }()
	cs.Assign(client.TopicPartition{Topic: "orders", Partition: 0})
	for {
		pollCtx, cancel := context.WithTimeout(ctx, time.Second)
		records, err := cs.Poll(pollCtx)
		cancel()
		var oor *client.OffsetOutOfRangeError
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return // idle
		case errors.As(err, &oor):
			fmt.Printf("position %d outside %d..%d\n", oor.Offset, oor.LogStartOffset, oor.HighWatermark)
			return
		case err != nil:
			fmt.Println(err)
			return
		}
		for _, r := range records {
			fmt.Printf("%d: %s=%s\n", r.Offset, r.Key, r.Value)
		}
	}
}
