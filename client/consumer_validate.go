package client

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// Position validation after a leader change (Kafka's KIP-320 log
// truncation detection). A partition remembers the leader epoch its
// fetches were last answered in (fetchEpoch) and the leader epoch of the
// last batch fetched (lastEpoch, from the batch header). When the
// metadata names a newer epoch, the next fetch waits for an
// OffsetsForLeaderEpoch request to the new leader: where does lastEpoch
// end in its log? An end before the fetch offset means the new leader's
// log diverges from what was fetched, which only an unclean leader
// election does. Fetched records not returned yet are dropped; when
// records already returned are gone too, the position moves back to the
// divergence point and a warning is logged, or Poll reports a
// *LogTruncationError under ResetNone (until the partition is sought).
//
// A group member commits its position with the leader epoch of the last
// record it returned (posEpoch); a member resuming from the commit seeks
// with that epoch, so its first fetch validates the committed offset the
// same way when the leader epoch has moved on since.

// LogTruncationError reports that the partition's leader no longer has
// records Poll already returned: its log diverges from Offset on. Seek to
// recover. It is returned only under ResetNone; other reset policies move
// the position to Offset.
type LogTruncationError struct {
	Topic     string
	Partition int32
	Position  int64 // the consumer's position
	Offset    int64 // where the leader's log diverges from what was consumed
}

func (e *LogTruncationError) Error() string {
	return fmt.Sprintf("client: log of %s/%d truncated at offset %d, below the position %d (unclean leader election)",
		e.Topic, e.Partition, e.Offset, e.Position)
}

// needsValidation reports whether a fetch to part must first validate the
// position: data was fetched in an older leader epoch than the metadata
// names now. Called with cs.mu held.
func (cp *consumerPartition) needsValidation(part partitionState) bool {
	return cp.lastEpoch >= 0 && cp.fetchEpoch >= 0 && part.epoch() > cp.fetchEpoch
}

// validate asks the leader where cp's last fetched epoch ends; the answer
// is applied by settleValidation. cp.fetching is already set.
func (cs *Consumer) validate(cp *consumerPartition, gen uint64, part partitionState, lastEpoch int32) {
	req := &messages.OffsetsForLeaderEpochRequest{
		Topic:          cp.tp.Topic,
		Partition:      cp.tp.Partition,
		LeaderEpoch:    part.epoch(),
		RequestedEpoch: lastEpoch,
		ReplicaId:      -1,
	}
	timeout := cs.cfg.RequestTimeout
	settle := func(res *messages.OffsetsForLeaderEpochResponse, err error) {
		cs.mu.Lock()
		cp.fetching = false
		if cp.gen == gen {
			cs.settleValidation(cp, req.LeaderEpoch, res, err)
		}
		cs.mu.Unlock()
		cs.notify()
	}
	err := cs.c.request(part.leader, req, timeout, func(v any, err error) {
		res, err := decodeResult[*messages.OffsetsForLeaderEpochResponse](v, err, part.leader, req, timeout)
		if errors.Is(err, errNoActor) {
			err = fmt.Errorf("%w: %w", messages.ErrorForCode(messages.ErrorCode_NOT_LEADER_OR_FOLLOWER,
				fmt.Sprintf("no replica of %s/%d at %s", cp.tp.Topic, cp.tp.Partition, part.leader.Address)), err)
		}
		settle(res, err)
		cs.startFetches()
	})
	if err != nil {
		settle(nil, err)
	}
}

// settleValidation applies an OffsetsForLeaderEpoch answer. A failed
// request is queued for Poll like a failed fetch (backoff, metadata
// refresh, retry). Called with cs.mu held.
func (cs *Consumer) settleValidation(cp *consumerPartition, epoch int32, res *messages.OffsetsForLeaderEpochResponse, err error) {
	if err != nil {
		cp.results = append(cp.results, &fetchResult{gen: cp.gen, offset: cp.fetchOffset, next: -1,
			err: fmt.Errorf("validate position of %s/%d: %w", cp.tp.Topic, cp.tp.Partition, err)})
		return
	}
	end, endEpoch := res.GetEndOffset(), res.GetLeaderEpoch()
	switch {
	case end < 0 || end >= cp.fetchOffset:
		// Everything fetched is in the new leader's log (or it cannot
		// tell, and the fetch's own range check decides).
	case end >= cp.position:
		// Only fetched records not returned yet diverge: fetch them again.
		cp.gen++
		cp.results = nil
		cp.fetchOffset = cp.position
		cp.lastEpoch = endEpoch
	case cs.cfg.AutoOffsetReset == ResetNone:
		cp.results = append(cp.results, &fetchResult{gen: cp.gen, offset: cp.fetchOffset, next: -1,
			err: &LogTruncationError{Topic: cp.tp.Topic, Partition: cp.tp.Partition, Position: cp.position, Offset: end}})
		return // validated again on the next fetch, until a seek
	default:
		cs.c.log.Warn("log truncation detected, resetting position to where the leader's log diverges",
			slog.String("topic", cp.tp.Topic), slog.Int("partition", int(cp.tp.Partition)),
			slog.Int64("position", cp.position), slog.Int64("offset", end))
		cp.seek(resetNone, end, 0)
		cp.lastEpoch, cp.posEpoch = endEpoch, endEpoch
	}
	cp.fetchEpoch = epoch
}

// seekEpoch is Seek to an offset known to be valid in a leader epoch (a
// committed offset with its epoch, -1 when unknown): the first fetch
// validates it when the partition's leader epoch has moved on since.
func (cs *Consumer) seekEpoch(tp TopicPartition, offset int64, epoch int32) error {
	return cs.with([]TopicPartition{tp}, func(cp *consumerPartition) {
		cp.seek(resetNone, offset, 0)
		if epoch >= 0 {
			cp.fetchEpoch, cp.lastEpoch, cp.posEpoch = epoch, epoch, epoch
		}
	})
}

// positionEpochs returns, for each of offsets that is its partition's
// position, the leader epoch of the record before it: the epoch a commit
// of the position carries, so that resuming from it can be validated.
func (cs *Consumer) positionEpochs(offsets map[TopicPartition]int64) map[TopicPartition]int32 {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := make(map[TopicPartition]int32, len(offsets))
	for tp, offset := range offsets {
		if cp := cs.parts[tp]; cp != nil && cp.reset == resetNone && cp.position == offset && cp.posEpoch >= 0 {
			out[tp] = cp.posEpoch
		}
	}
	return out
}

// batchEpochAt returns the partition leader epoch of the last whole batch
// in records starting at or before offset, -1 when there is none.
func batchEpochAt(records []byte, offset int64) int32 {
	epoch := int32(-1)
	for len(records) >= batch.HeaderSize {
		h, err := batch.ParseHeader(records)
		if err != nil || h.Size() > len(records) || h.BaseOffset > offset {
			break
		}
		epoch = h.PartitionLeaderEpoch
		records = records[h.Size():]
	}
	return epoch
}

// lastBatchEpoch returns the partition leader epoch of the last whole
// batch in records, -1 when there is none.
func lastBatchEpoch(records []byte) int32 {
	epoch := int32(-1)
	for len(records) >= batch.HeaderSize {
		h, err := batch.ParseHeader(records)
		if err != nil || h.Size() > len(records) {
			break
		}
		epoch = h.PartitionLeaderEpoch
		records = records[h.Size():]
	}
	return epoch
}
