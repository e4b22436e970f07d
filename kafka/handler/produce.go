package handler

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// produce sends every partition's batches to its replica at once (in
// request order, see Handle) and returns the wait for the answers. The
// replica validates the batches; its error is the partition's error.
// acks=0 gets no response.
func (h *Handler) produce(r *kmsg.ProduceRequest) func() kmsg.Response {
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	validAcks := r.Acks == 0 || r.Acks == 1 || r.Acks == -1
	timeout := time.Duration(r.TimeoutMillis)*time.Millisecond + slack
	type sent struct {
		f  actor.Future
		rp *kmsg.ProduceResponseTopicPartition
	}
	var futures []sent
	for _, t := range r.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = p.Partition
			rp.BaseOffset, rp.LogAppendTime, rp.LogStartOffset = -1, -1, -1
			if !validAcks {
				rp.ErrorCode = errInvalidRequiredAcks
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if validAcks {
		for i, t := range r.Topics {
			for j, p := range t.Partitions {
				msg := &messages.ProduceRequest{
					Topic: t.Topic, Partition: p.Partition, Acks: int32(r.Acks),
					TimeoutMs: r.TimeoutMillis, Records: p.Records, LeaderEpoch: -1,
				}
				futures = append(futures, sent{f: h.send(msg, timeout), rp: &resp.Topics[i].Partitions[j]})
			}
		}
	}
	return func() kmsg.Response {
		for _, s := range futures {
			a, err := await[*messages.ProduceResponse](s.f, "produce")
			if err != nil {
				if r.Acks != 0 {
					h.cfg.Logger.Debug("kafka: produce", "error", err)
				}
				s.rp.ErrorCode = errRequestTimedOut
				continue
			}
			s.rp.ErrorCode = code(a.ErrorCode)
			if a.ErrorMessage != "" {
				s.rp.ErrorMessage = strPtr(a.ErrorMessage)
			}
			if a.ErrorCode == messages.ErrorCode_NONE {
				s.rp.BaseOffset = a.BaseOffset
				s.rp.LogStartOffset = a.LogStartOffset
				if a.LogAppendTimeMs > 0 {
					s.rp.LogAppendTime = a.LogAppendTimeMs
				}
			}
		}
		if r.Acks == 0 {
			return nil
		}
		return resp
	}
}
