package group

import (
	"errors"
	"fmt"

	core "github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// logRecord is one key/value record for __consumer_offsets; a nil value is
// a tombstone.
type logRecord struct {
	key, value []byte
}

func groupRecord(groupID string, md *core.Metadata) logRecord {
	r := logRecord{key: core.EncodeGroupKey(groupID)}
	if md != nil {
		r.value = md.Encode()
	}
	return r
}

func offsetRecord(groupID string, p core.Partition, v *core.OffsetValue) logRecord {
	r := logRecord{key: core.OffsetKey{Group: groupID, Topic: p.Topic, Partition: p.Partition}.Encode()}
	if v != nil {
		r.value = v.Encode()
	}
	return r
}

// encodeRecords builds the v2 batch appended to __consumer_offsets.
func encodeRecords(nowMs int64, opts batch.EncodeOptions, records []logRecord) ([]byte, error) {
	b := batch.NewBuilder(opts)
	for _, r := range records {
		b.Append(nowMs, r.key, r.value, nil)
	}
	return b.Build()
}

// producerSeq is where a producer's batches in the partition stand: the
// epoch of its last batch and the sequence its next batch starts at.
type producerSeq struct {
	epoch int16
	next  int32
}

// replayRecords feeds the records of groupID found in buf, a Fetch
// response's batches, to replay (every group's records when groupID is
// ""). Records of transactional batches are held as pending until their
// producer's marker (a control batch), which applies or drops them. seqs,
// when not nil, learns the next sequence of every producer's batches. It
// returns the offset after the last whole batch, or from when buf holds
// none.
func replayRecords(buf []byte, from int64, groupID string, replay *core.Replay, seqs map[int64]producerSeq) (int64, error) {
	next := from
	for len(buf) > 0 {
		h, b, rest, err := batch.Next(buf)
		if errors.Is(err, batch.ErrShortBatch) {
			break
		}
		if err != nil {
			return next, err
		}
		buf = rest
		next = h.NextOffset()
		if h.Attributes.Control() {
			err = batch.ForEach(b, func(r batch.Record) error {
				if t, _, err := batch.ParseControl(r); err == nil {
					replay.EndTransaction(h.ProducerID, t == batch.ControlCommit)
				}
				return nil
			})
			if err != nil {
				return next, err
			}
			continue
		}
		if seqs != nil && h.ProducerID >= 0 && h.BaseSequence >= 0 {
			seqs[h.ProducerID] = producerSeq{epoch: h.ProducerEpoch, next: h.BaseSequence + h.LastOffsetDelta + 1}
		}
		transactional := h.Attributes.Transactional() && h.ProducerID >= 0
		err = batch.ForEach(b, func(r batch.Record) error {
			replay.Read++
			if groupID != "" && recordGroup(r.Key) != groupID {
				return nil
			}
			// Kafka skips records it cannot read; so does the load.
			if transactional {
				_ = replay.ApplyTransactional(h.ProducerID, r.Key, r.Value)
			} else {
				_ = replay.Apply(r.Key, r.Value)
			}
			return nil
		})
		if err != nil {
			return next, err
		}
	}
	return next, nil
}

// recordGroup returns the group a __consumer_offsets key belongs to, "" for
// keys it cannot read.
func recordGroup(key []byte) string {
	kind, err := core.RecordKind(key)
	if err != nil {
		return ""
	}
	switch kind {
	case core.KindGroup:
		g, err := core.DecodeGroupKey(key)
		if err == nil {
			return g
		}
	case core.KindOffset:
		k, err := core.DecodeOffsetKey(key)
		if err == nil {
			return k.Group
		}
	}
	return ""
}

// writeError maps the outcome of an append to __consumer_offsets to the
// error a group request reports, as Kafka's coordinator does: a replica
// that does not lead (any more) means this node is not the coordinator,
// a missing ISR that the coordinator is not available, oversized records
// an unknown server error.
func writeError(code messages.ErrorCode, detail string) error {
	switch code {
	case messages.ErrorCode_NONE:
		return nil
	case messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, messages.ErrorCode_NOT_ENOUGH_REPLICAS,
		messages.ErrorCode_NOT_ENOUGH_REPLICAS_AFTER_APPEND, messages.ErrorCode_REQUEST_TIMED_OUT:
		return messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "append to %s: %s", messages.ConsumerOffsetsTopic, detail)
	case messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, messages.ErrorCode_FENCED_LEADER_EPOCH,
		messages.ErrorCode_UNKNOWN_LEADER_EPOCH, messages.ErrorCode_KAFKA_STORAGE_ERROR:
		return messages.Wrap(messages.ErrorCode_NOT_COORDINATOR, "append to %s: %s", messages.ConsumerOffsetsTopic, detail)
	default:
		return messages.Wrap(messages.ErrorCode_UNKNOWN_SERVER_ERROR, "append to %s: %s: %s", messages.ConsumerOffsetsTopic, code, detail)
	}
}

// futureError turns a failed local request (timeout, dead letter) into a
// wire error.
func futureError(what string, err error) error {
	return messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "%s: %v", what, err)
}

// produceResult reads a ProduceRequest's outcome.
func produceResult(res any, err error) error {
	if err != nil {
		return futureError("append to "+messages.ConsumerOffsetsTopic, err)
	}
	resp, ok := res.(*messages.ProduceResponse)
	if !ok {
		return futureError("append to "+messages.ConsumerOffsetsTopic, fmt.Errorf("unexpected reply %T", res))
	}
	return writeError(resp.ErrorCode, resp.ErrorMessage)
}
