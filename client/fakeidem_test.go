package client

import (
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// fakeIdem is the fake broker's idempotence: producer ids, and hooks that
// lose produce answers. Guarded by fakeBroker.mu.
type fakeIdem struct {
	nextID int64
	inits  []*messages.InitProducerIdRequest
	// blackhole: the next produce requests are neither appended nor
	// answered. dropAnswers: appended, not answered. afterAppendErrs:
	// appended, answered with these codes.
	blackhole, dropAnswers int
	afterAppendErrs        []messages.ErrorCode
	duplicates             int
}

// fakeProducer is a partition's state of one producer id: the epoch, the
// last sequence appended and the last five batches (to answer retries).
type fakeProducer struct {
	epoch   int16
	lastSeq int32
	recent  []fakeSeqBatch
}

type fakeSeqBatch struct {
	first, last int32
	base        int64
}

func (fb *fakeBroker) initProducerID(m *messages.InitProducerIdRequest) *messages.InitProducerIdResponse {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	fb.idem.inits = append(fb.idem.inits, m)
	if m.GetProducerId() >= 0 {
		return &messages.InitProducerIdResponse{ProducerId: m.GetProducerId(), ProducerEpoch: m.GetProducerEpoch() + 1}
	}
	id := 1000 + fb.idem.nextID
	fb.idem.nextID++
	return &messages.InitProducerIdResponse{ProducerId: id}
}

// checkSequence decides on batch h as a Kafka leader does: the base offset
// of the original when h is a duplicate, an error for a gap or an old
// epoch, else -1 and NONE (append it).
func (l *fakeLog) checkSequence(h batch.Header) (int64, messages.ErrorCode) {
	if h.ProducerID < 0 {
		return -1, messages.ErrorCode_NONE
	}
	p := l.producers[h.ProducerID]
	switch {
	case p == nil || h.ProducerEpoch > p.epoch:
		if h.BaseSequence != 0 {
			return -1, messages.ErrorCode_OUT_OF_ORDER_SEQUENCE_NUMBER
		}
		return -1, messages.ErrorCode_NONE
	case h.ProducerEpoch < p.epoch:
		return -1, messages.ErrorCode_INVALID_PRODUCER_EPOCH
	}
	last := h.BaseSequence + h.LastOffsetDelta
	for _, b := range p.recent {
		if b.first == h.BaseSequence && b.last == last {
			return b.base, messages.ErrorCode_NONE
		}
	}
	if h.BaseSequence != p.lastSeq+1 {
		return -1, messages.ErrorCode_OUT_OF_ORDER_SEQUENCE_NUMBER
	}
	return -1, messages.ErrorCode_NONE
}

// recordSequence notes batch h appended at base.
func (l *fakeLog) recordSequence(h batch.Header, base int64) {
	if h.ProducerID < 0 {
		return
	}
	if l.producers == nil {
		l.producers = make(map[int64]*fakeProducer)
	}
	p := l.producers[h.ProducerID]
	if p == nil || h.ProducerEpoch != p.epoch {
		p = &fakeProducer{epoch: h.ProducerEpoch}
		l.producers[h.ProducerID] = p
	}
	last := h.BaseSequence + h.LastOffsetDelta
	p.lastSeq = last
	p.recent = append(p.recent, fakeSeqBatch{first: h.BaseSequence, last: last, base: base})
	if len(p.recent) > 5 {
		p.recent = p.recent[1:]
	}
}

// loseProducerState forgets every producer of a partition, as a broker
// whose producer state expired.
func (fb *fakeBroker) loseProducerState(topic string, partition int32) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	fb.log(topic, partition).producers = nil
}
