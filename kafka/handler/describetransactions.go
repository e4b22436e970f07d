package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// describeTransactions describes the transactional ids this node
// coordinates; the others get NOT_COORDINATOR (the admin client sends
// each id to its coordinator), an unknown id TRANSACTIONAL_ID_NOT_FOUND.
func (h *Handler) describeTransactions(ctx context.Context, r *kmsg.DescribeTransactionsRequest) kmsg.Response {
	var a *messages.DescribeTransactionsResponse
	var err error
	if len(r.TransactionalIDs) > 0 {
		a, err = ask[*messages.DescribeTransactionsResponse](ctx, h,
			&messages.DescribeTransactionsRequest{TransactionalIds: r.TransactionalIDs}, defaultTimeout)
		if err != nil {
			h.cfg.Logger.Debug("kafka: describe transactions", "error", err)
		}
	}
	return describeTransactionsResp(r, a, err)
}

// describeTransactionsResp answers each id of r in request order.
func describeTransactionsResp(r *kmsg.DescribeTransactionsRequest, a *messages.DescribeTransactionsResponse, err error) *kmsg.DescribeTransactionsResponse {
	resp := r.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	byID := map[string]*messages.DescribedTransaction{}
	if err == nil && a != nil {
		for _, d := range a.TransactionStates {
			byID[d.TransactionalId] = d
		}
	}
	for _, id := range r.TransactionalIDs {
		st := kmsg.NewDescribeTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.ProducerEpoch, st.StartTimestamp = id, -1, -1, -1
		d, ok := byID[id]
		switch {
		case !ok && err == nil && a != nil && a.ErrorCode != messages.ErrorCode_NONE:
			st.ErrorCode = code(a.ErrorCode)
		case !ok:
			st.ErrorCode = errCoordinatorNotAvailable
		case d.ErrorCode != messages.ErrorCode_NONE:
			st.ErrorCode = code(d.ErrorCode)
		default:
			st.State, st.TimeoutMillis, st.StartTimestamp = d.TransactionState, d.TransactionTimeoutMs, d.TransactionStartTimeMs
			st.ProducerID, st.ProducerEpoch = d.ProducerId, int16(d.ProducerEpoch)
			for _, t := range d.Topics {
				rt := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
				rt.Topic, rt.Partitions = t.Topic, t.Partitions
				st.Topics = append(st.Topics, rt)
			}
		}
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp
}
