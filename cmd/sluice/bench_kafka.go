package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafkaBenchFlags are the flags of the benches that go through a Kafka
// listener with franz-go's kgo client instead of the actor client.
type kafkaBenchFlags struct {
	benchFlags
	kafka    string
	acks     string
	linger   time.Duration
	fetchMax int32
}

func (f *kafkaBenchFlags) register(cmd *cobra.Command, duration time.Duration, durationHelp string) {
	f.benchFlags.register(cmd, duration, durationHelp)
	cmd.Flags().StringVar(&f.kafka, "kafka", "127.0.0.1:9092", "host:port of a node's Kafka listener")
}

// kafkaClient is a kgo client of the listener named by --kafka.
func (f *kafkaBenchFlags) kafkaClient(opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(f.kafka)}, opts...)...)
}

// ensureKafkaTopic creates the bench topic through the listener unless it
// exists.
func ensureKafkaTopic(ctx context.Context, cl *kgo.Client, f *kafkaBenchFlags) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = f.topic, f.partitions, int16(f.rf)
	req.Topics, req.TimeoutMillis = []kmsg.CreateTopicsRequestTopic{t}, 30_000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", f.topic, err)
	}
	return nil
}

func (a *app) benchKafkaProduce() *cobra.Command {
	var f kafkaBenchFlags
	cmd := &cobra.Command{
		Use:   "kafka-produce",
		Short: "Produce through a Kafka listener with the kgo client; report throughput",
		Long: `Produce records as fast as possible through a node's Kafka listener with
franz-go's kgo client (non-idempotent, uncompressed), the counterpart of
"bench produce" for the Kafka front door. Latency is from the record being
handed to the producer to its acknowledgement, queueing included.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			acks := kgo.LeaderAck()
			switch f.acks {
			case "1":
			case "all", "-1":
				acks = kgo.AllISRAcks()
			case "0":
				acks = kgo.NoAck()
			default:
				return usagef("--acks must be all, 1 or 0")
			}
			if f.recordSize < 0 {
				return usagef("--record-size must not be negative")
			}
			cl, err := f.kafkaClient(kgo.DefaultProduceTopic(f.topic), kgo.RequiredAcks(acks), kgo.DisableIdempotentWrite(),
				kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ProducerLinger(f.linger), kgo.MaxBufferedRecords(1<<16))
			if err != nil {
				return err
			}
			defer cl.Close()
			ctx := cmd.Context()
			if err := ensureKafkaTopic(ctx, cl, &f); err != nil {
				return err
			}
			stop, err := f.startProfile()
			if err != nil {
				return err
			}
			r := runKafkaProduce(ctx, cl, &f)
			stop()
			return a.printBench(r, true)
		},
	}
	f.register(cmd, 10*time.Second, "how long to run (unless --records is set)")
	cmd.Flags().IntVar(&f.recordSize, "record-size", 1024, "value size of each record in bytes")
	cmd.Flags().StringVar(&f.acks, "acks", "1", "acknowledgements: all (-1), 1 or 0")
	cmd.Flags().DurationVar(&f.linger, "linger", 0, "how long a batch waits for more records (kgo's ProducerLinger)")
	return cmd
}

// runKafkaProduce produces until the duration or record count is reached
// and waits for every acknowledgement.
func runKafkaProduce(ctx context.Context, cl *kgo.Client, f *kafkaBenchFlags) benchResult {
	tally := &produceTally{h: newLatencyHistogram()}
	value := make([]byte, f.recordSize)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	start := time.Now()
	deadline := start.Add(f.duration)
	for sent := int64(0); f.records == 0 || sent < f.records; sent++ {
		if sent%1024 == 0 && (ctx.Err() != nil || (f.records == 0 && time.Now().After(deadline))) {
			break
		}
		t0 := time.Now()
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) { tally.done(t0, err) })
	}
	_ = cl.Flush(context.WithoutCancel(ctx))
	r := benchResult{
		Records: tally.acked.Load(), Bytes: tally.acked.Load() * int64(f.recordSize), Errors: tally.failed.Load(),
		Producers: 1, LatencyIncludesQueueing: true,
	}
	if e := tally.firstErr.Load(); e != nil {
		r.FirstError = *e
	}
	r.finish(time.Since(start), tally.h)
	return r
}

func (a *app) benchKafkaConsume() *cobra.Command {
	var f kafkaBenchFlags
	cmd := &cobra.Command{
		Use:   "kafka-consume",
		Short: "Read a topic through a Kafka listener with the kgo client; report throughput",
		Long: `Read every partition of a topic from the beginning up to the end offset it
had when the bench started, through a node's Kafka listener with franz-go's
kgo client: the counterpart of "bench consume" for the Kafka front door.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			ends, err := kafkaEnds(ctx, &f)
			if err != nil {
				return err
			}
			cl, err := f.kafkaClient(kgo.ConsumeTopics(f.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
				kgo.FetchMaxPartitionBytes(f.fetchMax), kgo.FetchMaxBytes(max(f.fetchMax, 50<<20)), kgo.FetchMaxWait(100*time.Millisecond))
			if err != nil {
				return err
			}
			defer cl.Close()
			stop, err := f.startProfile()
			if err != nil {
				return err
			}
			r, err := runKafkaConsume(ctx, cl, ends, &f)
			stop()
			if err != nil {
				return err
			}
			return a.printBench(r, false)
		},
	}
	f.register(cmd, time.Minute, "stop after this long even before the end offsets are reached")
	cmd.Flags().Int32Var(&f.fetchMax, "fetch-max-bytes", 4<<20, "bytes per partition fetch")
	return cmd
}

// kafkaEnds lists the topic's end offsets through the listener.
func kafkaEnds(ctx context.Context, f *kafkaBenchFlags) (map[int32]int64, error) {
	cl, err := f.kafkaClient()
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(f.topic)
	meta.Topics = []kmsg.MetadataRequestTopic{mt}
	mresp, err := meta.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	if len(mresp.Topics) != 1 {
		return nil, fmt.Errorf("topic %s: metadata answered %d topics", f.topic, len(mresp.Topics))
	}
	if code := mresp.Topics[0].ErrorCode; code != 0 {
		return nil, fmt.Errorf("topic %s: %w", f.topic, kerr.ErrorForCode(code))
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	lt := kmsg.NewListOffsetsRequestTopic()
	lt.Topic = f.topic
	for _, p := range mresp.Topics[0].Partitions {
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.Partition, lp.Timestamp = p.Partition, -1
		lt.Partitions = append(lt.Partitions, lp)
	}
	req.Topics = []kmsg.ListOffsetsRequestTopic{lt}
	shards := cl.RequestSharded(ctx, req)
	ends := make(map[int32]int64)
	for _, s := range shards {
		if s.Err != nil {
			return nil, s.Err
		}
		for _, t := range s.Resp.(*kmsg.ListOffsetsResponse).Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					return nil, fmt.Errorf("list offsets of partition %d: %w", p.Partition, err)
				}
				ends[p.Partition] = p.Offset
			}
		}
	}
	return ends, nil
}

// runKafkaConsume polls until every partition is read up to its end (or
// --duration / --records stop it). The time is up to the last record.
func runKafkaConsume(ctx context.Context, cl *kgo.Client, ends map[int32]int64, f *kafkaBenchFlags) (benchResult, error) {
	left := make(map[int32]int64)
	for p, end := range ends {
		if end > 0 {
			left[p] = end
		}
	}
	var records, bytes int64
	var last time.Duration
	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, start.Add(f.duration))
	defer cancel()
	short := false
	for len(left) > 0 {
		if f.records > 0 && records >= f.records {
			short = true
			break
		}
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			short = true
			break
		}
		if err := fs.Err0(); err != nil {
			return benchResult{}, fmt.Errorf("consume: %w", err)
		}
		var n, b int64
		fs.EachRecord(func(r *kgo.Record) {
			n++
			b += int64(len(r.Key) + len(r.Value))
			if end, ok := left[r.Partition]; ok && r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		})
		if n > 0 {
			records += n
			bytes += b
			last = time.Since(start)
		}
	}
	r := benchResult{Records: records, Bytes: bytes, Consumers: 1, Partitions: len(ends), ReachedEnd: !short}
	r.finish(last, nil)
	return r, nil
}
