package partition

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// BenchmarkReplicaProduce measures the replica actor alone (in-process,
// real log): 64 KiB batches of 1 KiB or 100 B records, uncompressed or
// zstd, acks=1, one at a time. Every batch passes batch.Check first, so
// this is the cost of produce validation on the leader's hot path.
func BenchmarkReplicaProduce(b *testing.B) {
	for _, c := range []struct {
		size  int
		codec batch.Codec
	}{{1024, batch.CodecNone}, {100, batch.CodecNone}, {1024, batch.CodecZstd}} {
		b.Run(fmt.Sprintf("%dB-%s", c.size, c.codec), func(b *testing.B) {
			benchmarkReplicaProduce(b, c.size, c.codec)
		})
	}
}

func benchmarkReplicaProduce(b *testing.B, size int, codec batch.Codec) {
	h := newHarness(b, nil)
	opts := batch.DefaultEncodeOptions()
	opts.Codec = codec
	bld := batch.NewBuilder(opts)
	value := make([]byte, size)
	for i := range value {
		value[i] = byte('a' + i%7)
	}
	n := 64 << 10 / size
	for range n {
		bld.Append(time.Now().UnixMilli(), nil, value, nil)
	}
	payload, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(n * size))
	b.ReportAllocs()
	for range b.N {
		res, err := h.system.Root.RequestFuture(h.pid, &messages.ProduceRequest{Acks: 1, Records: bytes.Clone(payload), LeaderEpoch: -1}, requestTimeout).Result()
		if err != nil {
			b.Fatal(err)
		}
		if r := res.(*messages.ProduceResponse); r.ErrorCode != messages.ErrorCode_NONE {
			b.Fatal(r.ErrorCode)
		}
	}
}

// BenchmarkReplicaProduceIdempotent compares plain and idempotent
// produce at the replica (64 KiB batches of 1 KiB records, acks=1, one
// at a time): the idempotent one passes the producer state's check and
// update, and its snapshots at segment rolls. Both re-stamp the producer
// fields (and the CRC) of every batch so the client-side cost is equal.
func BenchmarkReplicaProduceIdempotent(b *testing.B) {
	for _, idempotent := range []bool{false, true} {
		name := "plain"
		if idempotent {
			name = "idempotent"
		}
		b.Run(name, func(b *testing.B) { benchmarkIdempotent(b, idempotent) })
	}
}

func benchmarkIdempotent(b *testing.B, idempotent bool) {
	h := newHarness(b, func(c *Config, _ *State) { c.TopicConfig.SegmentBytes = 64 << 20 })
	bld := batch.NewBuilder(batch.DefaultEncodeOptions())
	value := make([]byte, 1024)
	for range 64 {
		bld.Append(time.Now().UnixMilli(), nil, value, nil)
	}
	payload, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64 << 10)
	b.ReportAllocs()
	seq := int32(0)
	for range b.N {
		data := bytes.Clone(payload)
		if idempotent {
			batch.SetProducer(data, 42, 0, seq)
			seq = batch.NextSequence(seq, 64)
		} else {
			batch.SetProducer(data, -1, -1, -1)
		}
		res, err := h.system.Root.RequestFuture(h.pid, &messages.ProduceRequest{Acks: 1, Records: data, LeaderEpoch: -1}, requestTimeout).Result()
		if err != nil {
			b.Fatal(err)
		}
		if r := res.(*messages.ProduceResponse); r.ErrorCode != messages.ErrorCode_NONE {
			b.Fatal(r.ErrorCode, r.ErrorMessage)
		}
	}
}

// BenchmarkReplicaFetchIsolation compares read_uncommitted and
// read_committed fetches (1 MiB max) of a log written by transactional
// producers: 64 KiB batches, a commit marker after every 4 batches and
// an aborted transaction every 16, so read_committed pays the last stable
// offset and an aborted-transaction index read per fetch.
func BenchmarkReplicaFetchIsolation(b *testing.B) {
	h := newHarness(b, nil)
	value := make([]byte, 1024)
	seq := int32(0)
	for i := range 256 {
		opts := batch.DefaultEncodeOptions()
		opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence, opts.Transactional = 42, 0, seq, true
		bld := batch.NewBuilder(opts)
		for range 64 {
			bld.Append(time.Now().UnixMilli(), nil, value, nil)
		}
		payload, err := bld.Build()
		if err != nil {
			b.Fatal(err)
		}
		seq += 64
		if r := h.produce(payload, 1); r.ErrorCode != messages.ErrorCode_NONE {
			b.Fatal(r.ErrorCode, r.ErrorMessage)
		}
		if i%4 == 3 {
			m := request[*messages.WriteTxnMarkerResponse](h, &messages.WriteTxnMarkerRequest{
				ProducerId: 42, ProducerEpoch: 0, Committed: i%16 != 15, LeaderEpoch: -1,
			})
			if m.ErrorCode != messages.ErrorCode_NONE {
				b.Fatal(m.ErrorCode, m.ErrorMessage)
			}
		}
	}
	end := h.status().HighWatermark
	for _, isolation := range []int32{ReadUncommitted, ReadCommitted} {
		name := map[int32]string{ReadUncommitted: "read_uncommitted", ReadCommitted: "read_committed"}[isolation]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var offset, n int64
			for range b.N {
				f := request[*messages.FetchResponse](h, &messages.FetchRequest{
					Offset: offset, MaxBytes: 1 << 20, LeaderEpoch: -1, IsolationLevel: isolation,
				})
				if f.ErrorCode != messages.ErrorCode_NONE || len(f.Records) == 0 {
					b.Fatal(f.ErrorCode, f.ErrorMessage, offset)
				}
				n += int64(len(f.Records))
				_, next, _ := batchRange(f.Records)
				if offset = next; offset >= end {
					offset = 0
				}
			}
			b.SetBytes(n / int64(b.N))
		})
	}
}
