package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// txnOffsetCommit sends a transaction's offsets to the group's
// coordinator, which holds them pending until the transaction's marker.
// Before v3 the request names no member (KIP-447), so the coordinator
// skips the member check.
func (h *Handler) txnOffsetCommit(ctx context.Context, r *kmsg.TxnOffsetCommitRequest) kmsg.Response {
	a, err := ask[*messages.TxnOffsetCommitResponse](ctx, h, txnOffsetCommitMsg(r), defaultTimeout)
	if err != nil {
		h.cfg.Logger.Debug("kafka: txn offset commit", "error", err)
	}
	return txnOffsetCommitResp(r, a, err)
}

// txnOffsetCommitMsg is the group coordinator's request for r.
func txnOffsetCommitMsg(r *kmsg.TxnOffsetCommitRequest) *messages.TxnOffsetCommitRequest {
	msg := &messages.TxnOffsetCommitRequest{TransactionalId: r.TransactionalID, GroupId: r.Group,
		ProducerId: r.ProducerID, ProducerEpoch: int32(r.ProducerEpoch), GenerationId: -1}
	if r.Version >= 3 {
		msg.GenerationId, msg.MemberId, msg.GroupInstanceId = r.Generation, r.MemberID, deref(r.InstanceID)
	}
	for _, t := range r.Topics {
		mt := &messages.TxnOffsetCommitTopic{Name: t.Topic}
		for _, p := range t.Partitions {
			epoch := int32(-1)
			if r.Version >= 2 {
				epoch = p.LeaderEpoch
			}
			mt.Partitions = append(mt.Partitions, &messages.TxnOffsetCommitPartition{
				Partition: p.Partition, CommittedOffset: p.Offset, CommittedLeaderEpoch: epoch, Metadata: deref(p.Metadata),
			})
		}
		msg.Topics = append(msg.Topics, mt)
	}
	return msg
}

// txnOffsetCommitResp answers every partition of r with its code from a,
// else a's code for the whole request, else COORDINATOR_NOT_AVAILABLE.
func txnOffsetCommitResp(r *kmsg.TxnOffsetCommitRequest, a *messages.TxnOffsetCommitResponse, err error) *kmsg.TxnOffsetCommitResponse {
	resp := r.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
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
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = codes.get(t.Topic, p.Partition, whole)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
