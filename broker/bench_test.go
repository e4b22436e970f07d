package broker_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// BenchmarkBrokerProduce measures produce throughput to one partition of
// a real sluiced process over the remote: 64 KiB batches of 1 KiB records,
// acks=1, inFlight requests outstanding. Bytes are record payload bytes.
func BenchmarkBrokerProduce(b *testing.B) {
	for _, inFlight := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("inflight%d", inFlight), func(b *testing.B) {
			benchmarkProduce(b, inFlight)
		})
	}
}

func benchmarkProduce(b *testing.B, inFlight int) {
	c := clustertest.Start(b, 1)
	cl := clustertest.NewClient(b)
	topic := fmt.Sprintf("bench-%d", inFlight)
	resp := clustertest.Request[*messages.CreateTopicResponse](b, cl, c.NodePID(0), &messages.CreateTopicRequest{
		Name: topic, Partitions: 1, ReplicationFactor: 1,
	})
	if resp.ErrorCode != messages.ErrorCode_NONE {
		b.Fatal(resp.ErrorCode, resp.ErrorMessage)
	}
	const recordBytes, records = 1024, 64
	value := bytes.Repeat([]byte("x"), recordBytes)
	bld := batch.NewBuilder(batch.DefaultEncodeOptions())
	for range records {
		bld.Append(time.Now().UnixMilli(), nil, value, nil)
	}
	payload, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	pid := c.ReplicaPID(0, topic, 0)
	b.SetBytes(recordBytes * records)
	b.ReportAllocs()
	b.ResetTimer()
	window := make(chan actor.Future, inFlight)
	wait := func(f actor.Future) {
		res, err := f.Result()
		if err != nil {
			b.Fatal(err)
		}
		if r := res.(*messages.ProduceResponse); r.ErrorCode != messages.ErrorCode_NONE {
			b.Fatal(r.ErrorCode, r.ErrorMessage)
		}
	}
	for range b.N {
		if len(window) == cap(window) {
			wait(<-window)
		}
		req := &messages.ProduceRequest{Topic: topic, Acks: 1, Records: bytes.Clone(payload), LeaderEpoch: -1}
		window <- cl.System.Root.RequestFuture(pid, req, clustertest.RequestTimeout)
	}
	for len(window) > 0 {
		wait(<-window)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*records)/b.Elapsed().Seconds(), "records/s")
}
