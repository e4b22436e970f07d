package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// listTransactions lists the transactional ids this node coordinates
// (the admin client asks every broker), filtered by state, producer id
// and, from v1, by how long the transaction has been open (KIP-994).
func (h *Handler) listTransactions(ctx context.Context, r *kmsg.ListTransactionsRequest) kmsg.Response {
	msg := &messages.ListTransactionsRequest{StateFilters: r.StateFilters, ProducerIdFilters: r.ProducerIDFilters}
	if r.Version >= 1 {
		msg.DurationFilterMs = r.DurationFilterMillis
	}
	a, err := ask[*messages.ListTransactionsResponse](ctx, h, msg, defaultTimeout)
	if err != nil {
		h.cfg.Logger.Debug("kafka: list transactions", "error", err)
	}
	return listTransactionsResp(r, a, err)
}

func listTransactionsResp(r *kmsg.ListTransactionsRequest, a *messages.ListTransactionsResponse, err error) *kmsg.ListTransactionsResponse {
	resp := r.ResponseKind().(*kmsg.ListTransactionsResponse)
	resp.ErrorCode = answerCode(a, err)
	if resp.ErrorCode != 0 {
		return resp
	}
	resp.UnknownStateFilters = a.UnknownStateFilters
	for _, t := range a.TransactionStates {
		st := kmsg.NewListTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.TransactionState = t.TransactionalId, t.ProducerId, t.TransactionState
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp
}
