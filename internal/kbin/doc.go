// Package kbin reads and writes the primitive types of Kafka's classic
// (non-flexible) binary formats, used by the __consumer_offsets and
// __transaction_state records and the consumer group protocol: big-endian
// integers, strings with an int16 length, bytes and arrays with an int32
// length, -1 meaning null. To read records of flexible versions
// (__transaction_state value version 1) it also reads unsigned varints,
// compact strings and arrays and tagged fields.
//
// A Reader keeps the first error and returns zero values after it, so a
// decoder reads every field and checks Err once; callers choose the
// sentinel errors for truncated and invalid input so that decoding errors
// carry their own package's prefix.
package kbin
