package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// addPartitionsToTxn adds partitions to the producer's transaction at the
// id's coordinator, answering per partition. Only the client form (v0-v3)
// is served; the broker-batched form (v4+) is not advertised.
func (h *Handler) addPartitionsToTxn(ctx context.Context, r *kmsg.AddPartitionsToTxnRequest) kmsg.Response {
	a, err := ask[*messages.AddPartitionsToTxnResponse](ctx, h, addPartitionsMsg(r), defaultTimeout)
	if err != nil {
		h.cfg.Logger.Debug("kafka: add partitions to txn", "error", err)
	}
	return addPartitionsResp(r, a, err)
}

// addPartitionsMsg is the coordinator's request for r.
func addPartitionsMsg(r *kmsg.AddPartitionsToTxnRequest) *messages.AddPartitionsToTxnRequest {
	msg := &messages.AddPartitionsToTxnRequest{TransactionalId: r.TransactionalID, ProducerId: r.ProducerID, ProducerEpoch: int32(r.ProducerEpoch)}
	for _, t := range r.Topics {
		msg.Topics = append(msg.Topics, &messages.AddPartitionsToTxnTopic{Name: t.Topic, Partitions: t.Partitions})
	}
	return msg
}

// addPartitionsResp answers every partition of r: with its own code from
// a, else with a's code for the whole request, else (no answer) with
// COORDINATOR_NOT_AVAILABLE, which clients retry after finding the
// coordinator again.
func addPartitionsResp(r *kmsg.AddPartitionsToTxnRequest, a *messages.AddPartitionsToTxnResponse, err error) *kmsg.AddPartitionsToTxnResponse {
	resp := r.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	whole := errCoordinatorNotAvailable
	codes := partCodes{}
	if err == nil {
		whole = code(a.ErrorCode)
		for _, t := range a.Topics {
			for _, p := range t.Partitions {
				codes.set(t.Name, p.Partition, p.ErrorCode)
			}
		}
	}
	for _, t := range r.Topics {
		rt := kmsg.NewAddPartitionsToTxnResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition = p
			rp.ErrorCode = codes.get(t.Topic, p, whole)
			rp.ErrorCode = txnCode(rp.ErrorCode, r.Version)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
