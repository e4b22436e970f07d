package client

import (
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// Delivery of a finished produce request: its timing to
// ProducerConfig.OnProduceTiming, then its records' callbacks in order.

// ProduceTiming is where one acknowledged produce request spent its time,
// from the producer's clock and the leader's account in its answer. With
// AcksNone there is no answer and no timing.
type ProduceTiming struct {
	Topic     string
	Partition int32
	// Batches and Records are what the request carried (an idempotent
	// producer sends one batch per request, merged from those that
	// queued).
	Batches, Records int
	// Queued is from the first record of the request's oldest batch
	// being appended to the request's first send: the linger, the wait
	// for the partition's in-flight credit and for the sender goroutine.
	Queued time.Duration
	// RoundTrip is from the send of the attempt that was answered to its
	// answer arriving. RoundTrip minus Broker.Total is the transport both
	// ways (serialization, gRPC, the network) and the wait in the
	// leader's mailbox.
	RoundTrip time.Duration
	// Broker is the leader's account, zero from a broker that does not
	// report one.
	Broker BrokerTiming
}

// BrokerTiming is how long a produce request spent in each stage in the
// partition leader (the broker_*_us fields of its ProduceResponse). A
// zero stage was not waited for. Flush and Replicate overlap.
type BrokerTiming struct {
	// Append is from the request's arrival at the replica actor to its
	// append done (validation, producer state, the log write).
	Append time.Duration
	// Flush is from the append to the log durable through it, when the
	// topic's flush.policy (interval, always) makes the answer wait.
	Flush time.Duration
	// Replicate is from the append to every in-sync replica having the
	// records (AcksAll).
	Replicate time.Duration
	// Total is from the arrival to the answer sent.
	Total time.Duration
}

// requestTiming is a request's clock readings, owned by its sender's run
// goroutine.
type requestTiming struct {
	firstSent      time.Time // of the first attempt
	sent, answered time.Time // of the latest attempt; answered zero until a success
	broker         BrokerTiming
}

// noteSent records an attempt's send at now.
func (req *produceRequest) noteSent(now time.Time) {
	if req.timing.firstSent.IsZero() {
		req.timing.firstSent = now
	}
	req.timing.sent = now
}

// noteAnswer records the successful answer res arriving at at.
func (req *produceRequest) noteAnswer(at time.Time, res *messages.ProduceResponse) {
	us := func(n int64) time.Duration { return time.Duration(n) * time.Microsecond }
	req.timing.answered = at
	req.timing.broker = BrokerTiming{
		Append:    us(res.GetBrokerAppendUs()),
		Flush:     us(res.GetBrokerFlushUs()),
		Replicate: us(res.GetBrokerReplicateUs()),
		Total:     us(res.GetBrokerTotalUs()),
	}
}

// reportTiming passes an acknowledged request's timing to
// OnProduceTiming, if set.
func (s *sender) reportTiming(req *produceRequest) {
	report := s.p.cfg.OnProduceTiming
	if report == nil || req.timing.answered.IsZero() || len(req.batches) == 0 {
		return
	}
	opened, records := req.batches[0].opened, 0
	for _, o := range req.batches {
		if o.opened.Before(opened) {
			opened = o.opened
		}
		records += len(o.records)
	}
	report(ProduceTiming{
		Topic:     s.tp.Topic,
		Partition: s.tp.Partition,
		Batches:   len(req.batches),
		Records:   records,
		Queued:    max(req.timing.firstSent.Sub(opened), 0),
		RoundTrip: req.timing.answered.Sub(req.timing.sent),
		Broker:    req.timing.broker,
	})
}

// finish reports an acknowledged req's timing, then runs the callbacks
// of its records in order. Their buffer space is released first, so a
// callback may produce again even when the buffer was full; they count
// as pending (for Flush) until after.
func (s *sender) finish(req *produceRequest, err error) {
	if err == nil {
		s.reportTiming(req)
	}
	records, bytes := 0, 0
	for _, o := range req.batches {
		records += len(o.records)
		bytes += o.bytes
	}
	s.p.release(0, bytes)
	offset := req.base
	for _, o := range req.batches {
		for _, r := range o.records {
			md := RecordMetadata{Topic: s.tp.Topic, Partition: s.tp.Partition, Offset: -1, Timestamp: time.UnixMilli(r.timestamp)}
			if err == nil && req.appendTime > 0 {
				md.Timestamp = time.UnixMilli(req.appendTime) // the topic's log append time
			}
			if err == nil && offset >= 0 {
				md.Offset = offset
				offset++
			}
			r.callback(md, err)
		}
		s.p.recycle(o)
	}
	req.releaseRecords()
	s.p.release(records, 0)
}
