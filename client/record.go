package client

import (
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
)

// AnyPartition in Record.Partition lets the producer's partitioner choose.
const AnyPartition int32 = -1

// RecordHeader is a record header; a nil Value is a null value.
type RecordHeader = batch.RecordHeader

// Record is a record to produce or a consumed one.
//
// Key and Value distinguish nil (Kafka's null) from empty. The producer
// copies them into its batch before ProduceAsync returns, so the caller may
// reuse the buffers. Consumed records own their bytes.
type Record struct {
	Topic string
	// Partition to produce to, or AnyPartition for the partitioner's
	// choice. NewRecord sets AnyPartition; the zero value means partition 0.
	Partition int32
	// Offset is set on consumed records.
	Offset  int64
	Key     []byte
	Value   []byte
	Headers []RecordHeader
	// Timestamp of the record; zero when producing means now. Kafka keeps
	// millisecond precision.
	Timestamp time.Time
}

// NewRecord returns a record for topic whose partition the producer's
// partitioner chooses.
func NewRecord(topic string, key, value []byte) *Record {
	return &Record{Topic: topic, Partition: AnyPartition, Key: key, Value: value}
}

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

// RecordMetadata says where a produced record was stored.
type RecordMetadata struct {
	Topic     string
	Partition int32
	// Offset of the record, -1 with acks=0 (the broker does not answer).
	Offset int64
	// Timestamp is the record's timestamp, or the time the broker
	// appended it for a topic with message.timestamp.type=LogAppendTime.
	Timestamp time.Time
}

// maxVarintLen32 is the longest zigzag varint of an int32.
const maxVarintLen32 = 5

// recordSizeBound is an upper bound of the bytes rec takes in a batch's
// records section: varint fields at their longest plus the data.
func recordSizeBound(key, value []byte, headers []RecordHeader) int {
	n := maxVarintLen32 + 1 + 10 + maxVarintLen32 + // length, attributes, timestamp and offset deltas
		maxVarintLen32 + len(key) + maxVarintLen32 + len(value) + maxVarintLen32
	for i := range headers {
		n += 2*maxVarintLen32 + len(headers[i].Key) + len(headers[i].Value)
	}
	return n
}
