package handler

import "github.com/sluice-mq/sluice/messages"

// Transaction error codes as Kafka answers them.
const (
	errInvalidProducerEpoch int16 = 47
	errProducerFenced       int16 = 90
)

// The first versions that know PRODUCER_FENCED (KIP-588): v2 of
// AddPartitionsToTxn, AddOffsetsToTxn and EndTxn, v4 of InitProducerId.
// Older versions get INVALID_PRODUCER_EPOCH instead, as Kafka answers them.
const (
	fencedSinceTxn  = 2
	fencedSinceInit = 4
)

// txnCode is the error code AddPartitionsToTxn, AddOffsetsToTxn or EndTxn
// at version answers for c.
func txnCode(c int16, version int16) int16 { return fencedCode(c, version, fencedSinceTxn) }

// fencedCode is c, or INVALID_PRODUCER_EPOCH for PRODUCER_FENCED at a
// version below since.
func fencedCode(c, version, since int16) int16 {
	if c == errProducerFenced && version < since {
		return errInvalidProducerEpoch
	}
	return c
}

// partCodes holds an answer's error code per topic and partition.
type partCodes map[string]map[int32]int16

func (pc partCodes) set(topic string, partition int32, c messages.ErrorCode) {
	m := pc[topic]
	if m == nil {
		m = map[int32]int16{}
		pc[topic] = m
	}
	m[partition] = code(c)
}

// get is the code of one partition, or whole when the answer has none.
func (pc partCodes) get(topic string, partition int32, whole int16) int16 {
	if c, ok := pc[topic][partition]; ok {
		return c
	}
	return whole
}
