package group

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/controller"
	core "github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// maxPendingProducers bounds the producers with pending transactional
// offsets in one group; more get COORDINATOR_NOT_AVAILABLE until some
// transactions end.
const maxPendingProducers = 1000

// txnCompleted tells a group actor that producerID's marker is written to
// its partition: its pending offsets become committed (commit) or are
// dropped. The Host sends it for a TxnOffsetsCompletedRequest; the actor
// answers with a TxnOffsetsCompletedResponse. It never leaves the process.
type txnCompleted struct {
	producerID int64
	commit     bool
}

// handleTxnOffsetCommit validates the member (core.Group.TxnCommitOffsets),
// appends the offsets as one transactional batch of the producer (its id
// and epoch, the transactional bit, the producer's next sequence in this
// partition) and answers once the replica acknowledged it. The offsets are
// held pending: they become visible only when the producer's COMMIT marker
// is written to the partition (handleTxnCompleted), and are dropped on
// ABORT. A failed write reloads the group, so the sequences are learned
// again from the log.
func (c *coordinator) handleTxnOffsetCommit(ctx actor.Context, m *messages.TxnOffsetCommitRequest) {
	now := c.cfg.Now()
	err := c.g.TxnCommitOffsets(now, core.HeartbeatRequest{MemberID: m.MemberId, GroupInstanceID: m.GroupInstanceId, Generation: m.GenerationId})
	switch {
	case err != nil:
	case m.TransactionalId == "" || m.ProducerId < 0 || m.ProducerEpoch < 0 || m.ProducerEpoch > 1<<15-1:
		err = messages.Wrap(messages.ErrorCode_INVALID_REQUEST, "transactional offset commit without a transactional id, producer id and epoch")
	case !c.pending.Has(m.ProducerId) && c.pending.Producers() >= maxPendingProducers:
		err = messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "group %q has %d open transactions", c.groupID, maxPendingProducers)
	}
	codes := make(map[core.Partition]messages.ErrorCode)
	values := make(map[core.Partition]core.OffsetValue)
	var records []logRecord
	for _, t := range m.Topics {
		for _, p := range t.Partitions {
			tp := core.Partition{Topic: t.Name, Partition: p.Partition}
			switch {
			case err != nil:
				codes[tp] = messages.CodeFor(err)
			case len(p.Metadata) > c.cfg.MaxMetadataBytes:
				codes[tp] = messages.ErrorCode_OFFSET_METADATA_TOO_LARGE
			default:
				v := core.OffsetValue{Offset: p.CommittedOffset, LeaderEpoch: p.CommittedLeaderEpoch, Metadata: p.Metadata, CommitTimestamp: now.UnixMilli()}
				values[tp] = v
				records = append(records, offsetRecord(c.groupID, tp, &v))
			}
		}
	}
	if len(records) == 0 {
		ctx.Respond(txnCommitResponse(m, codes, err))
		return
	}
	epoch := int16(m.ProducerEpoch)
	seq := int32(0)
	if s, ok := c.seqs[m.ProducerId]; ok && s.epoch == epoch {
		seq = s.next
	}
	opts := batch.DefaultEncodeOptions()
	opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence, opts.Transactional = m.ProducerId, epoch, seq, true
	inc := c.incarnation
	c.writeWith(ctx, opts, records, func(werr error) {
		if werr == nil && c.current(inc) {
			c.pending.Add(m.ProducerId, values)
			c.seqs[m.ProducerId] = producerSeq{epoch: epoch, next: seq + int32(len(records))}
		}
		for tp := range values {
			codes[tp] = messages.CodeFor(werr)
		}
		ctx.Respond(txnCommitResponse(m, codes, werr))
		if werr != nil && c.current(inc) {
			c.failedWrite(ctx, werr)
			if c.current(inc) {
				c.logger.Info("transactional offset write failed; reloading the group", "error", werr)
				c.unload(ctx)
				c.startLoad(ctx)
			}
		}
	})
}

// handleTxnCompleted applies a producer's marker to its pending offsets.
func (c *coordinator) handleTxnCompleted(ctx actor.Context, m *txnCompleted) {
	for tp, v := range c.pending.Complete(m.producerID, m.commit) {
		c.offsets[tp] = v
		c.offsetsVersion++
	}
	ctx.Respond(&messages.TxnOffsetsCompletedResponse{})
}

// txnCommitResponse answers every partition of m with its code; err, when
// set, failed the whole request.
func txnCommitResponse(m *messages.TxnOffsetCommitRequest, codes map[core.Partition]messages.ErrorCode, err error) *messages.TxnOffsetCommitResponse {
	resp := &messages.TxnOffsetCommitResponse{ErrorCode: messages.CodeFor(err), ErrorMessage: errorText(err)}
	for _, t := range m.Topics {
		tr := &messages.TxnOffsetCommitTopicResult{Name: t.Name}
		for _, p := range t.Partitions {
			code, ok := codes[core.Partition{Topic: t.Name, Partition: p.Partition}]
			if !ok {
				code = messages.CodeFor(err)
			}
			tr.Partitions = append(tr.Partitions, &messages.TxnOffsetCommitPartitionResult{Partition: p.Partition, ErrorCode: code})
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}

// handleTxnOffsetsCompleted hands a producer's marker on a
// __consumer_offsets partition this node leads to every live group actor
// of that partition and answers once all applied it. Group actors not
// running load the marker from the log when they start.
func (h *Host) handleTxnOffsetsCompleted(ctx actor.Context, view controller.ClusterView, m *messages.TxnOffsetsCompletedRequest) {
	st, ok := view.Snapshot.State(messages.ConsumerOffsetsTopic, m.Partition)
	t, exists := view.Snapshot.Topics[messages.ConsumerOffsetsTopic]
	if !ok || !exists || st.Leader != h.nodeID {
		respondError(ctx, messages.Wrap(messages.ErrorCode_NOT_COORDINATOR, "node %d does not lead %s/%d", h.nodeID, messages.ConsumerOffsetsTopic, m.Partition))
		return
	}
	var targets []*actor.PID
	for g, pid := range h.groups {
		if core.OffsetsPartition(g, int32(t.Partitions())) != m.Partition {
			continue
		}
		if _, alive := ctx.ActorSystem().ProcessRegistry.GetLocal(pid.Id); alive {
			targets = append(targets, pid)
		}
	}
	pending := len(targets)
	var failed error
	if pending == 0 {
		ctx.Respond(&messages.TxnOffsetsCompletedResponse{})
		return
	}
	for _, pid := range targets {
		f := ctx.RequestFuture(pid, &txnCompleted{producerID: m.ProducerId, commit: m.Committed}, gatherTimeout)
		ctx.ReenterAfter(f, func(res any, err error) {
			if err == nil {
				if r, ok := res.(*messages.TxnOffsetsCompletedResponse); !ok {
					err = messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "unexpected reply %T", res)
				} else if r.ErrorCode != messages.ErrorCode_NONE {
					err = messages.ErrorForCode(r.ErrorCode, r.ErrorMessage)
				}
			} else {
				err = messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "group coordinator: %v", err)
			}
			if err != nil && failed == nil {
				failed = err
			}
			pending--
			if pending == 0 {
				resp := &messages.TxnOffsetsCompletedResponse{}
				if failed != nil {
					resp.ErrorCode, resp.ErrorMessage = messages.CodeFor(failed), failed.Error()
				}
				ctx.Respond(resp)
			}
		})
	}
}
