package partition

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// handleWriteTxnMarker appends a transaction coordinator's COMMIT or ABORT
// marker for one producer (a control batch, storage/batch EncodeControl)
// and answers once every in-sync replica has it, as an acks=all produce.
func (r *replica) handleWriteTxnMarker(ctx actor.Context, req *messages.WriteTxnMarkerRequest) {
	if err := r.checkEpoch(req.LeaderEpoch); err != nil {
		r.refuse(ctx, err)
		return
	}
	if req.ProducerId < 0 || req.ProducerEpoch < 0 || req.ProducerEpoch > 1<<15-1 {
		r.refuse(ctx, messages.Wrap(messages.ErrorCode_INVALID_REQUEST,
			"marker for producer id %d epoch %d", req.ProducerId, req.ProducerEpoch))
		return
	}
	if err := r.lead.CheckProduce(-1); err != nil {
		r.refuse(ctx, err)
		return
	}
	if err := r.producers.CheckMarker(req.ProducerId, int16(req.ProducerEpoch), req.CoordinatorEpoch); err != nil {
		r.refuse(ctx, producerError(err))
		return
	}
	t := batch.ControlAbort
	if req.Committed {
		t = batch.ControlCommit
	}
	records, err := batch.EncodeControl(t, req.ProducerId, int16(req.ProducerEpoch), req.CoordinatorEpoch, time.Now().UnixMilli())
	if err != nil {
		r.refuse(ctx, messages.Wrap(messages.ErrorCode_INVALID_REQUEST, "%v", err))
		return
	}
	info, err := r.log.Append(records, r.state.LeaderEpoch)
	if err != nil {
		err = appendError(err)
		if messages.CodeFor(err) == messages.ErrorCode_KAFKA_STORAGE_ERROR {
			r.logger.Error("append transaction marker", "error", err)
		}
		r.refuse(ctx, err)
		return
	}
	r.appliedBatches(info.FirstOffset, records)
	r.progress.appended(info.LastOffset+1, info.Bytes)
	r.leaderAppended(ctx, info.FirstOffset, info.LastOffset, records)
	var p *pendingProduce
	if ctx.Sender() != nil {
		p = &pendingProduce{
			sender: ctx.Sender(),
			bytes:  int64(len(records)),
			resp:   &messages.ProduceResponse{},
			marker: &messages.WriteTxnMarkerResponse{Offset: info.FirstOffset, LeaderEpoch: r.state.LeaderEpoch},
		}
	}
	r.awaitCommit(ctx, p, -1, req.TimeoutMs, info.LastOffset)
}

// handleDescribeProducers reports the partition's producer state.
func (r *replica) handleDescribeProducers(ctx actor.Context, req *messages.DescribeProducersRequest) {
	if err := r.checkEpoch(req.LeaderEpoch); err != nil {
		r.refuse(ctx, err)
		return
	}
	if ctx.Sender() == nil {
		return
	}
	entries := r.producers.Entries()
	resp := &messages.DescribeProducersResponse{
		Producers:        make([]*messages.DescribedProducer, len(entries)),
		LeaderEpoch:      r.state.LeaderEpoch,
		LastStableOffset: r.lastStableOffset(),
		HighWatermark:    r.progress.hw,
	}
	for i, e := range entries {
		resp.Producers[i] = &messages.DescribedProducer{
			ProducerId:            e.ProducerID,
			ProducerEpoch:         int32(e.Epoch),
			LastSequence:          e.LastSeq(),
			LastTimestamp:         e.LastTimestamp,
			CoordinatorEpoch:      e.CoordinatorEpoch,
			CurrentTxnStartOffset: e.TxnFirstOffset,
		}
	}
	ctx.Respond(resp)
}
