package group

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	core "github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
)

// handleOffsetCommit validates the committing member with the state
// machine, appends one offset record per partition and answers when the
// replica acknowledged them; only then does OffsetFetch see the offsets.
func (c *coordinator) handleOffsetCommit(ctx actor.Context, m *messages.OffsetCommitRequest) {
	now := c.cfg.Now()
	err := c.g.CommitOffsets(now, core.HeartbeatRequest{
		MemberID:        m.MemberId,
		GroupInstanceID: m.GroupInstanceId,
		Generation:      m.GenerationId,
	})
	codes := make(map[core.Partition]messages.ErrorCode)
	var records []logRecord
	values := make(map[core.Partition]core.OffsetValue)
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
		ctx.Respond(commitResponse(m, codes, err))
		return
	}
	inc := c.incarnation
	c.write(ctx, records, func(werr error) {
		if werr == nil && c.current(inc) {
			for tp, v := range values {
				c.offsets[tp] = v
			}
			c.offsetsVersion++
		}
		for tp := range values {
			codes[tp] = messages.CodeFor(werr)
		}
		ctx.Respond(commitResponse(m, codes, werr))
		if werr != nil && c.current(inc) {
			c.failedWrite(ctx, werr)
		}
	})
}

// commitResponse answers every partition of m with its code; err, when
// set, failed the whole request.
func commitResponse(m *messages.OffsetCommitRequest, codes map[core.Partition]messages.ErrorCode, err error) *messages.OffsetCommitResponse {
	resp := &messages.OffsetCommitResponse{ErrorCode: messages.CodeFor(err), ErrorMessage: errorText(err)}
	for _, t := range m.Topics {
		tr := &messages.OffsetCommitTopicResponse{Name: t.Name}
		for _, p := range t.Partitions {
			tr.Partitions = append(tr.Partitions, &messages.OffsetCommitPartitionResponse{
				Partition: p.Partition,
				ErrorCode: codes[core.Partition{Topic: t.Name, Partition: p.Partition}],
			})
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}

// handleOffsetFetch answers the committed offsets of the requested
// partitions (-1 for none), or of every partition with a commit when no
// topic is named.
func (c *coordinator) handleOffsetFetch(ctx actor.Context, m *messages.OffsetFetchRequest) {
	resp := &messages.OffsetFetchResponse{}
	if len(m.Topics) == 0 {
		byTopic := make(map[string][]int32)
		for tp := range c.offsets {
			byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
		}
		for _, name := range sortedKeys(byTopic) {
			ps := byTopic[name]
			slices.Sort(ps)
			resp.Topics = append(resp.Topics, c.fetchTopic(name, ps, m.RequireStable))
		}
	} else {
		for _, t := range m.Topics {
			resp.Topics = append(resp.Topics, c.fetchTopic(t.Name, t.Partitions, m.RequireStable))
		}
	}
	ctx.Respond(resp)
}

// fetchTopic answers the partitions of one topic; with requireStable a
// partition whose offset waits in an open transaction gets
// UNSTABLE_OFFSET_COMMIT (KIP-447).
func (c *coordinator) fetchTopic(name string, partitions []int32, requireStable bool) *messages.OffsetFetchTopicResponse {
	tr := &messages.OffsetFetchTopicResponse{Name: name}
	for _, p := range partitions {
		fp := &messages.OffsetFetchPartition{Partition: p, CommittedOffset: -1, CommittedLeaderEpoch: -1, CommitTimestamp: -1}
		tp := core.Partition{Topic: name, Partition: p}
		if requireStable && c.pending.Pending(tp) {
			fp.ErrorCode = messages.ErrorCode_UNSTABLE_OFFSET_COMMIT
			tr.Partitions = append(tr.Partitions, fp)
			continue
		}
		if v, ok := c.offsets[tp]; ok {
			fp.CommittedOffset, fp.CommittedLeaderEpoch = v.Offset, v.LeaderEpoch
			fp.Metadata, fp.CommitTimestamp = v.Metadata, v.CommitTimestamp
		}
		tr.Partitions = append(tr.Partitions, fp)
	}
	return tr
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// scheduleRetention arms the next offset expiry check.
func (c *coordinator) scheduleRetention(ctx actor.Context) {
	system, self := ctx.ActorSystem(), ctx.Self()
	c.retentionTimer = time.AfterFunc(c.cfg.OffsetsRetentionCheckInterval, func() {
		system.Root.Send(self, &retentionTick{})
	})
}

// handleRetention tombstones the offsets of an Empty group that has been
// empty for OffsetsRetention (for a group that never had members: offsets
// committed more than OffsetsRetention ago), as Kafka's
// offsets.retention.minutes does. A group left with neither members nor
// offsets is deleted. The actor of a group that does not exist stops once
// idle for idleTimeout.
func (c *coordinator) handleRetention(ctx actor.Context) {
	c.scheduleRetention(ctx)
	if !c.loaded || c.g.State() != core.StateEmpty {
		return
	}
	if !c.exists() && len(c.joins) == 0 && len(c.syncs) == 0 && c.cfg.Now().Sub(c.lastRequest) >= idleTimeout {
		c.logger.Debug("stopping the idle actor of a group that does not exist")
		ctx.Stop(ctx.Self())
		return
	}
	now := c.cfg.Now()
	emptySince := int64(-1)
	if c.g.Generation() > 0 {
		emptySince = c.g.Snapshot().StateTimestamp
	}
	var expired []core.Partition
	for tp, v := range c.offsets {
		base := v.CommitTimestamp
		if emptySince >= 0 {
			base = emptySince
		}
		if now.Sub(time.UnixMilli(base)) >= c.cfg.OffsetsRetention {
			expired = append(expired, tp)
		}
	}
	if len(expired) == 0 {
		return
	}
	records := make([]logRecord, 0, len(expired)+1)
	for _, tp := range expired {
		records = append(records, offsetRecord(c.groupID, tp, nil))
	}
	deleteGroup := len(expired) == len(c.offsets)
	if deleteGroup {
		records = append(records, groupRecord(c.groupID, nil))
	}
	inc := c.incarnation
	c.write(ctx, records, func(err error) {
		if !c.current(inc) {
			return
		}
		if err != nil {
			c.logger.Warn("offset expiry write failed", "error", err)
			c.failedWrite(ctx, err)
			return
		}
		for _, tp := range expired {
			delete(c.offsets, tp)
		}
		c.offsetsVersion++
		c.logger.Info("expired committed offsets", "partitions", len(expired), "group_deleted", deleteGroup && len(c.offsets) == 0)
		if deleteGroup && len(c.offsets) == 0 && c.g.State() == core.StateEmpty {
			c.g = c.newGroup()
			c.schedule(ctx, c.g.Deadline())
		}
	})
}
