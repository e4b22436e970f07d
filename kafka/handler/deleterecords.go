package handler

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// deleteRecords asks each partition's leader replica (all at once, routed
// by the node) to move its log start to the requested offset (-1: the
// high watermark). The leader answers once its own log starts there;
// followers follow from the next push. Codes are the replica's:
// OFFSET_OUT_OF_RANGE past the high watermark, NOT_LEADER_OR_FOLLOWER,
// UNKNOWN_TOPIC_OR_PARTITION, REQUEST_TIMED_OUT when no answer came in
// the request's timeout.
func (h *Handler) deleteRecords(ctx context.Context, r *kmsg.DeleteRecordsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DeleteRecordsResponse)
	timeout := time.Duration(r.TimeoutMillis)*time.Millisecond + slack
	type sent struct {
		f  actor.Future
		rp *kmsg.DeleteRecordsResponseTopicPartition
	}
	var futures []sent
	resp.Topics = make([]kmsg.DeleteRecordsResponseTopic, len(r.Topics))
	for i, t := range r.Topics {
		rt := &resp.Topics[i]
		rt.Default()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.DeleteRecordsResponseTopicPartition, len(t.Partitions))
		for j, p := range t.Partitions {
			rp := &rt.Partitions[j]
			rp.Default()
			rp.Partition, rp.LowWatermark = p.Partition, -1
			msg := &messages.DeleteRecordsRequest{Topic: t.Topic, Partition: p.Partition, Offset: p.Offset, LeaderEpoch: -1}
			futures = append(futures, sent{f: h.send(msg, timeout), rp: rp})
		}
	}
	for _, s := range futures {
		if ctx.Err() != nil {
			return resp
		}
		a, err := await[*messages.DeleteRecordsResponse](s.f, "delete records")
		if err != nil {
			h.cfg.Logger.Debug("kafka: delete records", "error", err)
			s.rp.ErrorCode = errRequestTimedOut
			continue
		}
		s.rp.ErrorCode, s.rp.LowWatermark = code(a.ErrorCode), a.LowWatermark
	}
	return resp
}
