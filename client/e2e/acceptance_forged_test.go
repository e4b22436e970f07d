package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// forge edits a copy of b and recomputes its batch length and CRC, as a
// producer forging a batch would, so only a check of its content can
// tell it from a good one.
func forge(b []byte, edit func(b []byte) []byte) []byte {
	b = edit(bytes.Clone(b))
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-batch.LogOverhead))
	binary.BigEndian.PutUint32(b[17:], batch.Checksum(b))
	return b
}

// forgeries sends batches with a good CRC over a lying header or broken
// records to raw-healthy. Each is refused with INVALID_RECORD, the log
// end does not move (the next good record lands right after the previous
// one), and produce and fetch keep working.
func (r *rawBroker) forgeries() {
	r.t.Helper()
	one := encodeValues(r.t, []byte("v"))
	lastOffsetDelta := func(v uint32) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint32(b[23:], v); return b }
	}
	bomb := func() []byte {
		recs := []batch.Record{{Timestamp: time.Now().UnixMilli(), Value: make([]byte, 40<<20)}}
		b, err := batch.Encode(recs, batch.EncodeOptions{Codec: batch.CodecZstd, ProducerID: -1, BaseSequence: -1, PartitionLeaderEpoch: -1})
		if err != nil {
			r.t.Fatal(err)
		}
		return b
	}()
	forged := map[string][]byte{
		"lastOffsetDelta 2^30": forge(one, lastOffsetDelta(1<<30)),
		"record count 5 for one record": forge(one, func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[57:], 5)
			return lastOffsetDelta(4)(b)
		}),
		"garbage records": forge(one, func(b []byte) []byte { return append(b[:batch.HeaderSize], "no records here"...) }),
		"bad varint":      forge(one, func(b []byte) []byte { return append(b[:batch.HeaderSize], bytes.Repeat([]byte{0xff}, 11)...) }),
		"trailing bytes":  forge(one, func(b []byte) []byte { return append(b, 1, 2, 3) }),
		"wrong maxTimestamp": forge(one, func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[35:], 1)
			return b
		}),
		"zip bomb":               bomb,
		"good then forged batch": append(encodeValues(r.t, []byte("a")), forge(one, lastOffsetDelta(1<<30))...),
	}
	last := r.servingAt()
	for name, records := range forged {
		c := r.produce("raw-healthy", records)
		c.what = name
		c.expect(messages.ErrorCode_INVALID_RECORD, "batch")
		if at := r.servingAt(); at != last+1 {
			r.t.Errorf("%s: the next record landed at %d, want %d: the forged batch moved the log end", name, at, last+1)
		}
		last++
	}
}

// topicCodec checks compression.type: a zstd topic stores gzip and
// uncompressed batches as zstd, a producer topic keeps them.
func (r *rawBroker) topicCodec() {
	r.t.Helper()
	r.create("raw-zstd", 1, map[string]string{"compression.type": "zstd"}).expect(messages.ErrorCode_NONE, "")
	r.create("raw-producer", 1, nil).expect(messages.ErrorCode_NONE, "")
	gzipped := func() []byte {
		b, err := batch.Encode([]batch.Record{{Timestamp: time.Now().UnixMilli(), Value: []byte("gz")}},
			batch.EncodeOptions{Codec: batch.CodecGzip, ProducerID: -1, BaseSequence: -1, PartitionLeaderEpoch: -1})
		if err != nil {
			r.t.Fatal(err)
		}
		return b
	}
	for topic, want := range map[string][]batch.Codec{
		"raw-zstd":     {batch.CodecZstd, batch.CodecZstd},
		"raw-producer": {batch.CodecGzip, batch.CodecNone},
	} {
		r.produce(topic, append(gzipped(), encodeValues(r.t, []byte("plain"))...)).expect(messages.ErrorCode_NONE, "")
		f := requestFetch(r, topic)
		var got []batch.Codec
		var values []string
		for rest := f.Records; len(rest) > 0; {
			h, b, next, err := batch.Next(rest)
			if err != nil {
				r.t.Fatalf("%s: stored batch: %v", topic, err)
			}
			got = append(got, h.Attributes.Codec())
			_, recs, err := batch.Decode(b)
			if err != nil {
				r.t.Fatalf("%s: stored batch: %v", topic, err)
			}
			for _, rec := range recs {
				values = append(values, string(rec.Value))
			}
			rest = next
		}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] || len(values) != 2 || values[0] != "gz" || values[1] != "plain" {
			r.t.Errorf("%s stores codecs %v with values %q, want %v with [gz plain]", topic, got, values, want)
		}
	}
}

func requestFetch(r *rawBroker, topic string) *messages.FetchResponse {
	r.t.Helper()
	return clustertest.Request[*messages.FetchResponse](r.t, r.cl, r.replica(topic), &messages.FetchRequest{
		Topic: topic, Offset: 0, MaxBytes: 1 << 20, LeaderEpoch: -1,
	})
}

// checkLogAppendTime produces records stamped an hour ago to a topic with
// message.timestamp.type=LogAppendTime; the producer's callbacks and the
// consumer see the time the broker appended them instead.
func checkLogAppendTime(t *testing.T, cl *client.Client) {
	t.Helper()
	ctx := testCtx(t)
	createTopic(t, cl, "appendtime", 1, map[string]string{"message.timestamp.type": "LogAppendTime"})
	p := newProducer(t, cl, client.ProducerConfig{Acks: client.AcksLeader, Compression: batch.CodecLZ4})
	old := time.Now().Add(-time.Hour)
	before := time.Now().Truncate(time.Millisecond)
	mds := make(chan client.RecordMetadata, 3)
	for _, v := range []string{"a", "b", "c"} {
		rec := client.NewRecord("appendtime", nil, []byte(v))
		rec.Timestamp = old
		p.ProduceAsync(context.Background(), rec, func(md client.RecordMetadata, err error) {
			if err != nil {
				md.Offset = -1
			}
			mds <- md
		})
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	for range 3 {
		// The producer, too, reports the broker's time (Kafka's
		// log_append_time_ms).
		if md := <-mds; md.Offset < 0 || md.Timestamp.Before(before) || md.Timestamp.After(after) {
			t.Errorf("produced record %d reported timestamp %v, want the append time in [%v, %v]", md.Offset, md.Timestamp, before, after)
		}
	}
	cs := newConsumer(t, cl, client.ConsumerConfig{AutoOffsetReset: client.ResetEarliest})
	cs.Assign(client.TopicPartition{Topic: "appendtime"})
	var got []*client.Record
	for len(got) < 3 {
		recs, err := cs.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, recs...)
	}
	for _, rec := range got {
		if rec.Timestamp.Before(before) || rec.Timestamp.After(after) {
			t.Errorf("record %d has timestamp %v, want the append time in [%v, %v], not the producer's %v",
				rec.Offset, rec.Timestamp, before, after, old)
		}
	}
}
