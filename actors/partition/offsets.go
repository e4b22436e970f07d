package partition

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
)

// Special ListOffsets timestamps (Kafka's).
const (
	LatestTimestamp   int64 = -1
	EarliestTimestamp int64 = -2
)

// handleListOffsets answers latest (the high watermark; the last stable
// offset under read_committed), earliest (the log start offset) or the
// first committed offset whose batch has a record at or after the
// timestamp (-1 when there is none).
func (r *replica) handleListOffsets(ctx actor.Context, req *messages.ListOffsetsRequest) {
	if err := r.checkEpoch(req.LeaderEpoch); err != nil {
		r.refuse(ctx, err)
		return
	}
	resp := &messages.ListOffsetsResponse{Offset: -1, Timestamp: -1, LeaderEpoch: r.state.LeaderEpoch}
	hw := r.progress.hw
	if req.IsolationLevel == ReadCommitted {
		// read_committed sees up to the last stable offset.
		hw = r.lastStableOffset()
	}
	switch req.Timestamp {
	case LatestTimestamp:
		resp.Offset = hw
	case EarliestTimestamp:
		resp.Offset = r.log.LogStartOffset()
	default:
		if req.Timestamp < 0 {
			r.refuse(ctx, messages.Wrap(messages.ErrorCode_INVALID_REQUEST, "timestamp %d: want -1, -2 or >= 0", req.Timestamp))
			return
		}
		offset, ts, err := r.log.OffsetForTimestamp(req.Timestamp)
		if err != nil {
			r.refuse(ctx, messages.Wrap(messages.ErrorCode_KAFKA_STORAGE_ERROR, "%v", err))
			return
		}
		if offset >= 0 && offset < hw {
			resp.Offset, resp.Timestamp = offset, ts
		}
	}
	ctx.Respond(resp)
}

// handlePartitionStatus reports the log's offsets and size.
func (r *replica) handlePartitionStatus(ctx actor.Context, _ *messages.PartitionStatusRequest) {
	ctx.Respond(&messages.PartitionStatusResponse{
		LogStartOffset: r.log.LogStartOffset(),
		LogEndOffset:   r.log.LogEndOffset(),
		HighWatermark:  r.progress.hw,
		SizeBytes:      r.log.Size(),
		Segments:       int32(r.log.NumSegments()),
		LeaderEpoch:    r.state.LeaderEpoch,
		NodeId:         r.cfg.NodeID,
		Leader:         r.state.Leader == r.cfg.NodeID,
	})
}
