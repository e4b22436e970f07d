package txn

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/txnstate"
)

// response builds the answer to a held request from the state machine's
// reply.
func response(h held, r txnstate.Reply) any {
	if r.Err != nil {
		return errorResponse(h.kind, h.topics, r.Err)
	}
	switch h.kind {
	case kindInit:
		return &messages.InitProducerIdResponse{ProducerId: r.ProducerID, ProducerEpoch: int32(r.ProducerEpoch)}
	case kindAddPartitions:
		return addPartitionsResponse(h.topics, nil)
	case kindAddOffsets:
		return &messages.AddOffsetsToTxnResponse{}
	case kindEnd:
		return &messages.EndTxnResponse{}
	}
	return nil
}

// errorResponse is the response of kind carrying err.
func errorResponse(kind requestKind, topics []*messages.AddPartitionsToTxnTopic, err error) any {
	code, msg := messages.CodeFor(err), err.Error()
	switch kind {
	case kindInit:
		return &messages.InitProducerIdResponse{ErrorCode: code, ErrorMessage: msg, ProducerId: -1, ProducerEpoch: -1}
	case kindAddPartitions:
		return addPartitionsResponse(topics, err)
	case kindAddOffsets:
		return &messages.AddOffsetsToTxnResponse{ErrorCode: code, ErrorMessage: msg}
	case kindEnd:
		return &messages.EndTxnResponse{ErrorCode: code, ErrorMessage: msg}
	}
	return nil
}

// addPartitionsResponse answers every partition of topics with err's code.
func addPartitionsResponse(topics []*messages.AddPartitionsToTxnTopic, err error) *messages.AddPartitionsToTxnResponse {
	resp := &messages.AddPartitionsToTxnResponse{ErrorCode: messages.CodeFor(err)}
	if err != nil {
		resp.ErrorMessage = err.Error()
	}
	for _, t := range topics {
		rt := &messages.AddPartitionsToTxnTopicResult{Name: t.Name}
		for _, p := range t.Partitions {
			rt.Partitions = append(rt.Partitions, &messages.AddPartitionsToTxnPartitionResult{Partition: p, ErrorCode: resp.ErrorCode})
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// respondError answers the request in ctx with its response type carrying
// err.
func respondError(ctx actor.Context, err error) {
	if ctx.Sender() == nil {
		return
	}
	if r := errorFor(ctx.Message(), err); r != nil {
		ctx.Respond(r)
	}
}

// errorFor is the error response to a request message.
func errorFor(msg any, err error) any {
	code, text := messages.CodeFor(err), err.Error()
	switch m := msg.(type) {
	case *messages.InitProducerIdRequest:
		return errorResponse(kindInit, nil, err)
	case *messages.AddPartitionsToTxnRequest:
		return errorResponse(kindAddPartitions, m.Topics, err)
	case *messages.AddOffsetsToTxnRequest, *addOffsets:
		return errorResponse(kindAddOffsets, nil, err)
	case *messages.EndTxnRequest:
		return errorResponse(kindEnd, nil, err)
	case *messages.FindCoordinatorRequest:
		return &messages.FindCoordinatorResponse{ErrorCode: code, ErrorMessage: text, NodeId: -1}
	case *messages.DescribeTransactionsRequest:
		resp := &messages.DescribeTransactionsResponse{}
		for _, id := range m.TransactionalIds {
			resp.TransactionStates = append(resp.TransactionStates, &messages.DescribedTransaction{
				TransactionalId: id, ErrorCode: code, ErrorMessage: text, ProducerId: -1, ProducerEpoch: -1, TransactionStartTimeMs: -1,
			})
		}
		return resp
	case *messages.ListTransactionsRequest:
		return &messages.ListTransactionsResponse{ErrorCode: code, ErrorMessage: text}
	}
	return nil
}

// describe reports the id's state (DescribeTransactions).
func (c *coordinator) describe() *messages.DescribedTransaction {
	d := &messages.DescribedTransaction{TransactionalId: c.id, ProducerId: -1, ProducerEpoch: -1, TransactionStartTimeMs: -1}
	md := c.txn.Metadata()
	if md == nil {
		d.ErrorCode = messages.ErrorCode_TRANSACTIONAL_ID_NOT_FOUND
		d.ErrorMessage = "transactional id " + c.id + " has no state"
		return d
	}
	d.TransactionState = md.State.String()
	d.TransactionTimeoutMs = int32(md.Timeout.Milliseconds())
	d.ProducerId, d.ProducerEpoch = md.ProducerID, int32(md.ProducerEpoch)
	if md.State == txnstate.Ongoing || md.State == txnstate.PrepareCommit || md.State == txnstate.PrepareAbort {
		d.TransactionStartTimeMs = md.StartTimestamp
	}
	for _, p := range md.Partitions {
		if n := len(d.Topics); n == 0 || d.Topics[n-1].Topic != p.Topic {
			d.Topics = append(d.Topics, &messages.DescribedTransactionTopic{Topic: p.Topic})
		}
		d.Topics[len(d.Topics)-1].Partitions = append(d.Topics[len(d.Topics)-1].Partitions, p.Partition)
	}
	return d
}
