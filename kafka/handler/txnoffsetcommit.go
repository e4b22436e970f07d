package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// txnOffsetCommit sends a transaction's offsets to the group's
// coordinator, which holds them pending until the transaction's marker.
// Partitions the metadata does not know get UNKNOWN_TOPIC_OR_PARTITION
// and are not sent, as in Kafka. Before v3 the request names no member
// (KIP-447), so the coordinator skips the member check.
func (h *Handler) txnOffsetCommit(ctx context.Context, r *kmsg.TxnOffsetCommitRequest) kmsg.Response {
	names := make([]string, 0, len(r.Topics))
	for _, t := range r.Topics {
		names = append(names, t.Topic)
	}
	known := map[string]int32{}
	if len(names) == 0 {
		return txnOffsetCommitResp(r, nil, nil, known)
	}
	m, err := ask[*messages.MetadataResponse](ctx, h, &messages.MetadataRequest{Topics: names}, defaultTimeout)
	if err != nil {
		return txnOffsetCommitResp(r, nil, err, nil)
	}
	for _, t := range m.Topics {
		if t.ErrorCode == messages.ErrorCode_NONE {
			known[t.Name] = int32(len(t.Partitions))
		}
	}
	msg := txnOffsetCommitMsg(r, known)
	var a *messages.TxnOffsetCommitResponse
	if len(msg.Topics) > 0 {
		a, err = ask[*messages.TxnOffsetCommitResponse](ctx, h, msg, defaultTimeout)
		if err != nil {
			h.cfg.Logger.Debug("kafka: txn offset commit", "error", err)
		}
	}
	return txnOffsetCommitResp(r, a, err, known)
}

// isKnown reports whether partition exists by known (topic to partition
// count).
func isKnown(known map[string]int32, topic string, partition int32) bool {
	n, ok := known[topic]
	return ok && partition >= 0 && partition < n
}

// txnOffsetCommitMsg is the group coordinator's request for the
// partitions of r that exist by known.
func txnOffsetCommitMsg(r *kmsg.TxnOffsetCommitRequest, known map[string]int32) *messages.TxnOffsetCommitRequest {
	msg := &messages.TxnOffsetCommitRequest{TransactionalId: r.TransactionalID, GroupId: r.Group,
		ProducerId: r.ProducerID, ProducerEpoch: int32(r.ProducerEpoch), GenerationId: -1}
	if r.Version >= 3 {
		msg.GenerationId, msg.MemberId, msg.GroupInstanceId = r.Generation, r.MemberID, deref(r.InstanceID)
	}
	for _, t := range r.Topics {
		mt := &messages.TxnOffsetCommitTopic{Name: t.Topic}
		for _, p := range t.Partitions {
			if !isKnown(known, t.Topic, p.Partition) {
				continue
			}
			epoch := int32(-1)
			if r.Version >= 2 {
				epoch = p.LeaderEpoch
			}
			mt.Partitions = append(mt.Partitions, &messages.TxnOffsetCommitPartition{
				Partition: p.Partition, CommittedOffset: p.Offset, CommittedLeaderEpoch: epoch, Metadata: deref(p.Metadata),
			})
		}
		if len(mt.Partitions) > 0 {
			msg.Topics = append(msg.Topics, mt)
		}
	}
	return msg
}

// txnOffsetCommitResp answers every partition of r: UNKNOWN_TOPIC_OR_PARTITION
// if it does not exist by known, else its code from a, else a's code for
// the whole request, else (no answer) COORDINATOR_NOT_AVAILABLE. A nil
// known means the metadata was not had: every partition gets err's code.
func txnOffsetCommitResp(r *kmsg.TxnOffsetCommitRequest, a *messages.TxnOffsetCommitResponse, err error, known map[string]int32) *kmsg.TxnOffsetCommitResponse {
	resp := r.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	whole := errCoordinatorNotAvailable
	codes := partCodes{}
	if err == nil && a != nil {
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
			if known != nil && !isKnown(known, t.Topic, p.Partition) {
				rp.ErrorCode = errUnknownTopicOrPartition
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
