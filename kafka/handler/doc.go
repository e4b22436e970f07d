// Package handler answers the Kafka requests of the listener
// (kafka/server) by asking the node's own actors in-process, the same
// actors the Go actor client reaches over the remote: the node guardian
// routes produce, fetch and list-offsets requests to the partition's
// replica actor, admin and metadata requests to the controller, group
// requests to the group coordinators and transaction requests to the
// transaction coordinators. Each message is a messages/ struct handed over
// without serialization; the replica validates produced batches as it does
// for the actor client.
//
// One file per API key (as franz-go's kfake is laid out) translates the
// kmsg request into those messages and their answers back, with Kafka's
// error codes per partition where the protocol has them.
//
// Fetch is zero-copy with Config.ZeroCopy: the replicas answer with file
// ranges (partition.FileFetchRequest) and the response is a
// wire.FileFetch, which the connection writes around the ranges and sends
// them with sendfile; without it the batches are copied into the
// response. Both give the same bytes. Across partitions Fetch follows
// Kafka's delayed fetch and max_bytes rules (fetchwait.go).
package handler
