package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// endTxn commits or aborts the producer's transaction at the id's
// coordinator; it answers once the decision is persisted, before the
// markers are written. Served up to v4: v5 (KIP-890 part 2) bumps the
// epoch on every transaction, which the coordinator does not.
func (h *Handler) endTxn(ctx context.Context, r *kmsg.EndTxnRequest) kmsg.Response {
	msg := &messages.EndTxnRequest{TransactionalId: r.TransactionalID, ProducerId: r.ProducerID,
		ProducerEpoch: int32(r.ProducerEpoch), Committed: r.Commit}
	a, err := ask[*messages.EndTxnResponse](ctx, h, msg, defaultTimeout)
	if err != nil {
		h.cfg.Logger.Debug("kafka: end txn", "error", err)
	}
	resp := r.ResponseKind().(*kmsg.EndTxnResponse)
	resp.ErrorCode = txnCode(answerCode(a, err), r.Version)
	return resp
}
