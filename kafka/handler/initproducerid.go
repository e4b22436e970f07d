package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// initProducerID hands out a producer id and epoch: from the node's block
// without a transactional id, from the id's transaction coordinator with
// one. v3+ may carry the current id and epoch for an epoch bump (KIP-360);
// before v4 PRODUCER_FENCED is answered as INVALID_PRODUCER_EPOCH.
func (h *Handler) initProducerID(ctx context.Context, r *kmsg.InitProducerIDRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	msg := &messages.InitProducerIdRequest{TransactionalId: deref(r.TransactionalID), TransactionTimeoutMs: r.TransactionTimeoutMillis,
		ProducerId: -1, ProducerEpoch: -1}
	if r.Version >= 3 {
		msg.ProducerId, msg.ProducerEpoch = r.ProducerID, int32(r.ProducerEpoch)
	}
	a, err := ask[*messages.InitProducerIdResponse](ctx, h, msg, defaultTimeout)
	if err != nil {
		resp.ErrorCode = errCoordinatorNotAvailable
		return resp
	}
	resp.ErrorCode = fencedCode(code(a.ErrorCode), r.Version, fencedSinceInit)
	if a.ErrorCode == messages.ErrorCode_NONE {
		resp.ProducerID, resp.ProducerEpoch = a.ProducerId, int16(a.ProducerEpoch)
	}
	return resp
}
