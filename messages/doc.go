// Package messages holds the protobuf messages that cross actor boundaries in
// Sluice (between nodes, and between clients and nodes), the Kafka error code
// table with its Go helpers, and the deterministic actor names that let any
// process compute the PID of a node's guardian or a partition replica.
//
// One .proto file per domain: common.proto (ErrorCode, TopicPartition),
// partition.proto (produce, fetch, list offsets), admin.proto (metadata and
// topic administration), replication.proto (leader pushes and the epoch
// handshake), reassign.proto (moving replicas), group.proto (consumer
// groups and committed offsets), producer.proto (producer ids and
// epochs) and txn.proto (transactions). Generated code is committed; `make proto`
// regenerates it. Every FooRequest has a FooResponse whose first field is the
// error code, and handlers always answer with the paired response.
package messages
