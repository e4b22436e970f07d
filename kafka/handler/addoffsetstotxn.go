package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// addOffsetsToTxn adds the group's __consumer_offsets partition to the
// producer's transaction at the id's coordinator; the offsets themselves
// follow in TxnOffsetCommit to the group's coordinator.
func (h *Handler) addOffsetsToTxn(ctx context.Context, r *kmsg.AddOffsetsToTxnRequest) kmsg.Response {
	msg := &messages.AddOffsetsToTxnRequest{TransactionalId: r.TransactionalID, ProducerId: r.ProducerID,
		ProducerEpoch: int32(r.ProducerEpoch), GroupId: r.Group}
	a, err := ask[*messages.AddOffsetsToTxnResponse](ctx, h, msg, defaultTimeout)
	if err != nil {
		h.cfg.Logger.Debug("kafka: add offsets to txn", "error", err)
	}
	resp := r.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	resp.ErrorCode = txnCode(answerCode(a, err), r.Version)
	return resp
}

// answerCode is the code of an answer with an ErrorCode, or
// COORDINATOR_NOT_AVAILABLE when there was none.
func answerCode[T interface{ GetErrorCode() messages.ErrorCode }](a T, err error) int16 {
	if err != nil {
		return errCoordinatorNotAvailable
	}
	return code(a.GetErrorCode())
}
