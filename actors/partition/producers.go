package partition

import (
	"errors"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/commitlog"
	"github.com/sluice-mq/sluice/storage/producerstate"
	"github.com/sluice-mq/sluice/storage/txnindex"
)

// Producer state (storage/producerstate): the leader checks each batch of
// an idempotent or transactional producer before appending it and every
// replica applies what it appends, so after a leader change the new
// leader dedupes retries of what the old one wrote. Snapshots are written
// when the log rolls (by the snapshotter, off the actor) and at a clean
// close; the state is rebuilt from the latest snapshot and the log tail
// when the log opens and after a follower's truncation (in the disk
// operation that cuts the log).

// loadProducers rebuilds the producer state and aborted-transaction index
// of the log just opened.
func (r *replica) loadProducers(l *commitlog.Log) error {
	if r.txns == nil {
		idx, err := txnindex.Open(nil, r.cfg.Dir)
		if err != nil {
			return err
		}
		r.txns = idx
	}
	st, stats, err := rebuildProducers(l, r.txns, r.cfg.producerConfig())
	if err != nil {
		return err
	}
	r.cfg.Metrics.replayed(stats.Batches)
	if stats.Corrupt > 0 || stats.Stale > 0 || stats.BadMarkers > 0 || stats.Batches > 1000 {
		r.logger.Info("rebuilt producer state", "snapshot", stats.Snapshot, "corrupt_snapshots", stats.Corrupt,
			"stale_snapshots", stats.Stale, "batches_replayed", stats.Batches, "unreadable_markers", stats.BadMarkers,
			"producers", st.Len())
	}
	r.producers = st
	r.snapBase = l.ActiveSegmentBase()
	r.stable.Store(st.LastStableOffset(l.HighWatermark()))
	if r.snapshots == nil {
		r.snapshots = newSnapshotter(r.cfg.Dir, r.logger, r.txns.Sync)
	}
	return nil
}

// rebuildProducers loads the producer state of l (the latest snapshot and
// the log above it) and rebuilds the aborted-transaction index above the
// point the replay started from. It touches no replica field, so a disk
// operation can run it.
func rebuildProducers(l *commitlog.Log, idx *txnindex.Index, cfg producerstate.Config) (*producerstate.State, producerstate.LoadStats, error) {
	if idx.Damaged() {
		// A corrupt index entry: rebuild the index from the whole log,
		// which means replaying it all (no snapshot).
		if _, err := producerstate.DeleteSnapshotsAbove(nil, l.Dir(), -1); err != nil {
			return nil, producerstate.LoadStats{}, err
		}
		if err := idx.Reset(); err != nil {
			return nil, producerstate.LoadStats{}, err
		}
	}
	st, stats, err := producerstate.Load(nil, l.Dir(), l, cfg, time.Now().UnixMilli())
	if err != nil {
		return nil, stats, err
	}
	if err := idx.TruncateFrom(stats.ReplayFrom); err != nil {
		return nil, stats, err
	}
	segs := l.Segments()
	for _, c := range stats.Completed {
		if !c.Aborted {
			continue
		}
		i := sort.Search(len(segs), func(i int) bool { return segs[i].BaseOffset > c.LastOffset })
		if err := idx.Append(segs[max(i-1, 0)].BaseOffset, abortedEntry(c)); err != nil {
			return nil, stats, err
		}
	}
	st.OnHighWatermark(l.HighWatermark())
	return st, stats, idx.Sync()
}

func abortedEntry(c producerstate.CompletedTxn) txnindex.Entry {
	return txnindex.Entry{ProducerID: c.ProducerID, FirstOffset: c.FirstOffset, LastOffset: c.LastOffset, LastStableOffset: c.LastStableOffset}
}

// snapshotOnClose writes the producer state at the log end before the log
// is closed cleanly, so the next open reads no log at all.
func (r *replica) snapshotOnClose() {
	if r.snapshots != nil {
		r.snapshots.drain()
	}
	if r.producers == nil || r.log == nil || r.producers.End() != r.log.LogEndOffset() {
		return
	}
	if r.log.LogEndOffset() == 0 {
		// A log never written has no producer state to keep: the
		// rebuild on open reads nothing. An idle node of 10,000
		// partitions stops without 10,000 snapshot writes and syncs.
		return
	}
	// Every index entry below a snapshot must be durable (FORMAT.md).
	if err := r.txns.Sync(); err != nil {
		r.logger.Warn("sync aborted-transaction index", "error", err)
		return
	}
	if err := producerstate.WriteSnapshot(nil, r.cfg.Dir, r.producers.End(), r.producers.Entries()); err != nil {
		r.logger.Warn("write producer state snapshot", "offset", r.producers.End(), "error", err)
	}
}

// maybeSnapshot queues a snapshot of the producer state, which describes
// the log below at, when the log rolled a segment since the last one.
// Nothing is queued while a disk operation (which may cut the log)
// runs.
func (r *replica) maybeSnapshot(at int64) {
	if r.producers == nil || r.diskOp != nil || r.producers.End() != at {
		return
	}
	if base := r.log.ActiveSegmentBase(); base != r.snapBase {
		r.snapBase = base
		r.snapshots.queue(at, r.producers.Entries())
	}
}

// appliedBatches records appended batches (offsets assigned) in the
// producer state: first a snapshot if the append rolled the log, then
// the batches. It returns the transactions their markers completed.
func (r *replica) appliedBatches(first int64, records []byte) []producerstate.CompletedTxn {
	if r.producers == nil {
		return nil
	}
	r.maybeSnapshot(first)
	done, err := r.producers.ApplyBatches(records)
	if err != nil {
		r.logger.Warn("producer state of appended batches", "offset", first, "error", err)
	}
	if len(done) > 0 || r.producers.HasOpenTransactions() {
		r.noteStable()
	}
	for _, c := range done {
		if !c.Aborted {
			continue
		}
		if err := r.txns.Append(r.log.ActiveSegmentBase(), abortedEntry(c)); err != nil {
			// The next open rebuilds the index from the log tail only if
			// no snapshot covers this marker; fail loudly.
			r.logger.Error("aborted-transaction index", "producer", c.ProducerID, "marker", c.LastOffset, "error", err)
		}
	}
	return done
}

// checkProducers runs the producer state's checks on a produce request's
// (validated) batches: a duplicate is returned to be answered with its
// original offsets, a refusal as a wire error.
func (r *replica) checkProducers(records []byte) (producerstate.BatchMetadata, bool, error) {
	var small [4]batch.Header
	headers := small[:0]
	idempotent := false
	for rest := records; len(rest) > 0; {
		h, err := batch.ParseHeader(rest)
		if err != nil {
			return producerstate.BatchMetadata{}, false, checkError(err)
		}
		headers = append(headers, h)
		idempotent = idempotent || h.ProducerID >= 0
		rest = rest[h.Size():]
	}
	if !idempotent {
		return producerstate.BatchMetadata{}, false, nil
	}
	dup, isDup, err := r.producers.Check(headers)
	return dup, isDup, producerError(err)
}

// answerDuplicate answers a produce whose batch the log already holds
// with the original offsets; nothing is appended. The answer waits, as a
// fresh append would, until everything appended so far meets the acks
// and flush policy: the original may not be committed yet.
func (r *replica) answerDuplicate(ctx actor.Context, req *messages.ProduceRequest, dup producerstate.BatchMetadata) {
	r.cfg.Metrics.produce(messages.ErrorCode_DUPLICATE_SEQUENCE_NUMBER.String(), 0, 0)
	if ctx.Sender() == nil {
		return
	}
	appendTime := int64(-1)
	if r.cfg.TopicConfig.MessageTimestampType == metadata.TimestampLogAppendTime {
		appendTime = dup.Timestamp
	}
	now := time.Now()
	p := &pendingProduce{sender: ctx.Sender(), received: r.received, appended: now, resp: &messages.ProduceResponse{
		BaseOffset:      dup.FirstOffset,
		LogStartOffset:  r.log.LogStartOffset(),
		LeaderEpoch:     r.state.LeaderEpoch,
		LogAppendTimeMs: appendTime,
		BrokerAppendUs:  stageMicros(r.received, now),
	}}
	r.awaitCommit(ctx, p, req.Acks, req.TimeoutMs, max(dup.LastOffset, r.log.LogEndOffset()-1))
}

// noteStable publishes the last stable offset at the current high
// watermark for the log cleaner.
func (r *replica) noteStable() {
	if r.producers != nil && r.log != nil {
		r.stable.Store(r.producers.LastStableOffset(r.log.HighWatermark()))
	}
}

// closeProducers ends the producer state with the log: the snapshot
// writer is drained and the aborted-transaction index closed.
func (r *replica) closeProducers() {
	if r.snapshots != nil {
		r.snapshots.drain()
		r.snapshots = nil
	}
	if r.txns != nil {
		if err := r.txns.Close(); err != nil {
			r.logger.Error("close aborted-transaction index", "error", err)
		}
		r.txns = nil
	}
	r.producers = nil
}

// abandonProducers drops the producer state of a failed log without
// writing anything more: a snapshot being written is waited for, the
// index is not synced (the next open rebuilds what is missing).
func (r *replica) abandonProducers() {
	if r.snapshots != nil {
		r.snapshots.drain()
		r.snapshots = nil
	}
	r.txns, r.producers = nil, nil
}

// resetProducers rebuilds the producer state from the log as it is, after
// a disk operation on it failed midway (the log may or may not have been
// cut). It reads the log in the actor: this is the rare failure path.
func (r *replica) resetProducers() {
	if r.log == nil {
		return
	}
	if err := r.loadProducers(r.log); err != nil {
		r.logger.Error("rebuild producer state", "error", err)
		r.producers = producerstate.New(r.cfg.producerConfig(), r.log.LogEndOffset())
	}
}

// expireProducers forgets idle producer ids (producer.id.expiration.ms).
func (r *replica) expireProducers(now time.Time) {
	if r.producers != nil {
		if n := r.producers.RemoveExpired(now.UnixMilli()); n > 0 {
			r.logger.Debug("expired producer ids", "count", n)
		}
	}
}

// producerError maps a producer state refusal to a wire error.
func producerError(err error) error {
	var code messages.ErrorCode
	switch {
	case err == nil:
		return nil
	case errors.Is(err, producerstate.ErrOutOfOrderSequence):
		code = messages.ErrorCode_OUT_OF_ORDER_SEQUENCE_NUMBER
	case errors.Is(err, producerstate.ErrInvalidProducerEpoch):
		code = messages.ErrorCode_INVALID_PRODUCER_EPOCH
	case errors.Is(err, producerstate.ErrInvalidTxnState):
		code = messages.ErrorCode_INVALID_TXN_STATE
	case errors.Is(err, producerstate.ErrCoordinatorFenced):
		code = messages.ErrorCode_TRANSACTION_COORDINATOR_FENCED
	case errors.Is(err, producerstate.ErrTooManyProducers):
		code = messages.ErrorCode_POLICY_VIOLATION
	default:
		code = messages.ErrorCode_UNKNOWN_SERVER_ERROR
	}
	return messages.Wrap(code, "%v", err)
}
