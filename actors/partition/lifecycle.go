package partition

import (
	"errors"
	"path/filepath"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/commitlog"
	"github.com/sluice-mq/sluice/storage/compaction"
	"github.com/sluice-mq/sluice/storage/producerstate"
	"github.com/sluice-mq/sluice/storage/txnindex"
)

// openLog opens the partition's log and restarts the bookkeeping at its
// checkpointed high watermark.
func (r *replica) openLog() error {
	lc, err := r.cfg.logConfig()
	if err != nil {
		return err
	}
	// WithSyncHandoff: with flush.policy=always the Flusher fsyncs, not
	// Append, so the actor never waits for the disk.
	opts := []commitlog.Option{commitlog.WithSyncHandoff()}
	if r.cfg.Flusher != nil {
		opts = append(opts, commitlog.WithFlusher(r.cfg.Flusher))
	}
	opts = append(opts, r.cfg.LogOptions...)
	l, err := commitlog.Open(r.cfg.Dir, lc, opts...)
	if err != nil {
		return err
	}
	if st := l.OpenStats(); st.SegmentsScanned > 0 || st.BytesTruncated > 0 {
		r.logger.Info("recovered partition log", "segments_scanned", st.SegmentsScanned,
			"bytes_scanned", st.BytesScanned, "bytes_truncated", st.BytesTruncated,
			"segments_deleted", st.SegmentsDeleted)
		r.cfg.Metrics.recovered(st.BytesScanned)
	}
	if err := r.loadProducers(l); err != nil {
		_ = l.Close() // the load error is the one worth reporting
		return err
	}
	r.log = l
	r.stats.setLog(l)
	r.progress.reset(l.HighWatermark())
	r.durableEnd = l.LogEndOffset()
	r.registerCleaner()
	return nil
}

// cleanerName is the log's name in the node's cleaner and its checkpoint.
func (r *replica) cleanerName() string { return filepath.Base(r.cfg.Dir) }

// registerCleaner hands the log of a compacted topic to the node's cleaner
// (or updates its policy), and takes it back from a topic that no longer
// compacts. Neither waits for a clean.
func (r *replica) registerCleaner() {
	if r.cfg.Cleaner == nil || r.log == nil {
		return
	}
	if r.cfg.TopicConfig.Compacts() {
		p := r.cfg.cleanerPolicy()
		// Transactions: nothing past the last stable offset is cleaned,
		// and aborted records go (Kafka's cleaner rules).
		p.StableEnd = r.stable.Load
		idx := r.txns
		p.Aborted = func(from, to int64) ([]compaction.AbortedTxn, error) {
			entries, err := idx.Collect(from, to)
			out := make([]compaction.AbortedTxn, len(entries))
			for i, e := range entries {
				out[i] = compaction.AbortedTxn{ProducerID: e.ProducerID, FirstOffset: e.FirstOffset, LastOffset: e.LastOffset}
			}
			return out, err
		}
		r.cfg.Cleaner.Register(r.cleanerName(), r.log, p)
		return
	}
	r.cfg.Cleaner.Unregister(r.cleanerName(), false)
}

// unregisterCleaner takes the log back from the cleaner before it is
// closed or deleted. A clean in progress is cancelled; waiting for it
// costs at most one batch read or write, or a swap already under way.
func (r *replica) unregisterCleaner(deleted bool) {
	if r.cfg.Cleaner != nil {
		r.cfg.Cleaner.Unregister(r.cleanerName(), deleted)
	}
}

// closeLog answers everything waiting on the log and closes it: pending
// acks=1 produces (and acks=all ones the ISR already has) are committed by
// a final flush, acks=all produces still waiting for followers fail with
// NOT_LEADER_OR_FOLLOWER, parked fetches get what is there now.
func (r *replica) closeLog(ctx actor.Context) {
	r.waitDiskOp()
	r.waitMaintenance()
	if r.log == nil {
		return
	}
	if err := r.log.Flush(); err != nil {
		r.logger.Error("flush", "error", err)
		r.failPending(ctx, messages.Wrap(messages.ErrorCode_KAFKA_STORAGE_ERROR, "%v", err))
	} else {
		r.markDurable(ctx, r.log.LogEndOffset())
		r.snapshotOnClose()
	}
	r.stopReplication(ctx)
	r.failPending(ctx, messages.Wrap(messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, "partition %s/%d is closing", r.cfg.Topic, r.cfg.Partition))
	r.unregisterCleaner(false)
	r.closeProducers()
	r.stats.setLog(nil)
	if err := r.log.Close(); err != nil {
		r.logger.Error("close log", "error", err)
	}
	r.log = nil
}

// failPending answers the pending produces with err and the parked fetches
// empty, as if their wait had expired (or with err when the log is gone).
// Empty: a replica closing with thousands of parked fetches must not read
// and send max_bytes for each; the consumer fetches again from the same
// offset and finds the new leader.
func (r *replica) failPending(ctx actor.Context, err error) {
	r.failTrimWaiters(ctx, err)
	for _, p := range append(r.acks.drain(), r.allAcks.drain()...) {
		p.resp.ErrorCode = messages.CodeFor(err)
		p.resp.ErrorMessage = err.Error()
		r.answerProduce(ctx, p)
	}
	for _, p := range r.parked.drain() {
		r.stopTimer(p.id)
		if r.log != nil && !r.deleted {
			r.answerParkedEmpty(ctx, p)
		} else {
			r.answerFetchError(ctx, p, err)
		}
	}
}

// shutdown runs on Stopping and Restarting: timers off, log closed.
func (r *replica) shutdown(ctx actor.Context) {
	if r.maintenanceTimer != nil {
		r.maintenanceTimer.Stop()
		r.maintenanceTimer = nil
	}
	r.closeLog(ctx)
	for id := range r.timers {
		r.stopTimer(id)
	}
}

// deleteLog removes the partition's data (its topic was deleted or the
// replica moved away) and stops the actor.
func (r *replica) deleteLog(ctx actor.Context) {
	if r.maintenanceTimer != nil {
		r.maintenanceTimer.Stop()
		r.maintenanceTimer = nil
	}
	r.waitDiskOp()
	r.waitMaintenance()
	r.stopReplication(ctx)
	r.deleted = true
	r.failPending(ctx, messages.Wrap(messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "partition %s/%d was deleted", r.cfg.Topic, r.cfg.Partition))
	if r.log != nil {
		r.unregisterCleaner(true)
		r.closeProducers()
		r.releaseStats()
		if err := r.log.Delete(); err != nil {
			r.logger.Error("delete log", "error", err)
		}
		r.log = nil
	}
	r.behavior.Become(r.stopped)
	ctx.Stop(ctx.Self())
}

// stopped refuses everything while the actor winds down after DeleteLog.
func (r *replica) stopped(ctx actor.Context) {
	r.refuse(ctx, messages.Wrap(messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "partition %s/%d was deleted", r.cfg.Topic, r.cfg.Partition))
}

// handleUpdateConfig adopts a new topic configuration; a changed log
// setting reopens the log (a clean close makes the reopen cheap).
func (r *replica) handleUpdateConfig(ctx actor.Context, m *UpdateConfig) {
	before, errBefore := r.cfg.logConfig()
	minInsync := r.cfg.TopicConfig.MinInsyncReplicas
	r.cfg.TopicConfig = m.TopicConfig
	r.latest.cfg.TopicConfig = m.TopicConfig
	after, err := r.cfg.logConfig()
	if err != nil {
		r.logger.Error("topic config", "error", err)
		return
	}
	if errBefore == nil && before == after {
		r.registerCleaner() // compaction settings may have changed
		if r.lead != nil && m.TopicConfig.MinInsyncReplicas != minInsync {
			// The core takes min.insync.replicas at its start: start it
			// over (waiting acks=all produces fail and are retried).
			r.startLeader(ctx)
		}
		return
	}
	r.closeLog(ctx)
	if err := r.openLog(); err != nil {
		r.logger.Error("reopen partition log", "dir", r.cfg.Dir, "error", err)
		r.behavior.Become(r.failed)
		return
	}
	r.scheduleMaintenance(ctx)
	r.takeRole(ctx)
}

// scheduleMaintenance arms the next retention and roll run.
func (r *replica) scheduleMaintenance(ctx actor.Context) {
	if r.maintenanceTimer != nil {
		r.maintenanceTimer.Stop()
	}
	system, self := ctx.ActorSystem(), ctx.Self()
	r.maintenanceTimer = time.AfterFunc(r.cfg.retentionCheckInterval(), func() {
		system.Root.Send(self, &maintenanceTick{})
	})
}

// handleMaintenanceTick rolls an aged active segment and applies
// retention in a goroutine, so deleting files never blocks the mailbox;
// maintenanceDone reports back and arms the next run.
func (r *replica) handleMaintenanceTick(ctx actor.Context) {
	r.maintenanceTimer = nil
	if r.log == nil || r.maintenanceDone != nil {
		return
	}
	done := make(chan struct{})
	r.maintenanceDone = done
	l, txns, system, self, now := r.log, r.txns, ctx.ActorSystem(), ctx.Self(), time.Now()
	r.expireProducers(now)
	go func() {
		defer close(done)
		rolled, rollErr := l.MaybeRoll(now)
		deleted, retErr := l.EnforceRetention(now)
		var snapErr error
		if deleted > 0 {
			snapErr = dropSegmentState(l, txns)
		}
		system.Root.Send(self, &maintenanceDone{rolled: rolled, deleted: deleted, err: errors.Join(rollErr, retErr, snapErr)})
	}()
}

func (r *replica) handleMaintenanceDone(ctx actor.Context, m *maintenanceDone) {
	r.maintenanceDone = nil
	if m.err != nil && !errors.Is(m.err, commitlog.ErrClosed) {
		r.logger.Error("retention", "error", m.err)
	}
	if m.deleted > 0 {
		r.cfg.Metrics.segmentsDeleted(m.deleted)
		r.logger.Debug("retention deleted segments", "segments", m.deleted)
		if r.lead != nil && r.log != nil {
			// Pushes must not start below the new log start.
			r.lead.SetLogStart(r.log.LogStartOffset())
		}
	}
	if m.rolled {
		r.logger.Debug("rolled aged segment")
		if r.log != nil && r.producers != nil {
			r.maybeSnapshot(r.log.LogEndOffset())
		}
	}
	if r.log != nil {
		r.scheduleMaintenance(ctx)
	}
}

// waitMaintenance waits for an in-flight maintenance run before the log is
// closed or replaced.
func (r *replica) waitMaintenance() {
	r.waitTrim()
	if r.maintenanceDone != nil {
		<-r.maintenanceDone
		r.maintenanceDone = nil
	}
}

// stopReplication ends the replica's role: a leader resigns, a follower
// stops following, an ISR write in flight is cancelled and waited for.
func (r *replica) stopReplication(ctx actor.Context) {
	r.stopLeader(ctx)
	r.stopFollower()
	r.stopISRWrites()
}

// dropSegmentState deletes the producer-state snapshots and the
// aborted-transaction index entries of the segments l no longer has (after
// retention or DeleteRecords deleted some): they go with their segments.
// It runs off the actor, beside the log call that deleted them.
func dropSegmentState(l *commitlog.Log, txns *txnindex.Index) error {
	first := l.Segments()[0].BaseOffset
	_, err := producerstate.DeleteSnapshotsBefore(nil, l.Dir(), first)
	return errors.Join(err, txns.DeleteBefore(first))
}
