package handler

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// describeProducers asks each partition's replica (all at once) for the
// idempotent and transactional producers it tracks; a partition this node
// does not lead gets NOT_LEADER_OR_FOLLOWER, as in Kafka, where the admin
// client sends each partition to its leader.
func (h *Handler) describeProducers(ctx context.Context, r *kmsg.DescribeProducersRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DescribeProducersResponse)
	type sent struct {
		f  actor.Future
		rp *kmsg.DescribeProducersResponseTopicPartition
	}
	var futures []sent
	resp.Topics = make([]kmsg.DescribeProducersResponseTopic, len(r.Topics))
	for i, t := range r.Topics {
		rt := &resp.Topics[i]
		rt.Default()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.DescribeProducersResponseTopicPartition, len(t.Partitions))
		for j, p := range t.Partitions {
			rp := &rt.Partitions[j]
			rp.Default()
			rp.Partition = p
			msg := &messages.DescribeProducersRequest{Topic: t.Topic, Partition: p, LeaderEpoch: -1}
			futures = append(futures, sent{f: h.send(msg, defaultTimeout), rp: rp})
		}
	}
	for _, s := range futures {
		if ctx.Err() != nil {
			return resp
		}
		a, err := await[*messages.DescribeProducersResponse](s.f, "describe producers")
		if err != nil {
			h.cfg.Logger.Debug("kafka: describe producers", "error", err)
		}
		fillProducers(s.rp, a, err)
	}
	return resp
}

// fillProducers sets one partition's answer from the replica's.
func fillProducers(rp *kmsg.DescribeProducersResponseTopicPartition, a *messages.DescribeProducersResponse, err error) {
	if err != nil {
		rp.ErrorCode = errRequestTimedOut
		return
	}
	rp.ErrorCode = code(a.ErrorCode)
	if a.ErrorCode != messages.ErrorCode_NONE {
		rp.ErrorMessage = strPtr(a.ErrorMessage)
		return
	}
	for _, p := range a.Producers {
		ap := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
		ap.ProducerID, ap.ProducerEpoch, ap.LastSequence = p.ProducerId, p.ProducerEpoch, p.LastSequence
		ap.LastTimestamp, ap.CoordinatorEpoch, ap.CurrentTxnStartOffset = p.LastTimestamp, p.CoordinatorEpoch, p.CurrentTxnStartOffset
		rp.ActiveProducers = append(rp.ActiveProducers, ap)
	}
}
