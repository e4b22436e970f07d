// Package client is the Go client of Sluice: admin operations, a batching
// producer and a consumer, talking to broker actors over protoactor's
// remote.
//
// A Client runs its own small actor system with a remote listener (brokers
// answer requests to it), learns the cluster from the first seed node that
// answers a MetadataRequest, and sends requests straight to actors whose
// PIDs follow from metadata: a node's guardian is {node address,
// messages.NodeActorID}, a partition leader's replica is {leader's
// address, messages.ReplicaActorID(topic, partition)}.
//
//	c, err := client.New(ctx, client.Config{Seeds: []string{"127.0.0.1:9650"}})
//	defer c.Close(ctx)
//	_, err = c.CreateTopic(ctx, "orders", 6, 3, map[string]string{"retention.ms": "86400000"})
//
//	p, err := client.NewProducer(c, client.ProducerConfig{Acks: client.AcksAll, Compression: client.CodecZstd})
//	p.ProduceAsync(ctx, client.NewRecord("orders", key, value), func(md client.RecordMetadata, err error) { ... })
//	part, offset, err := p.Produce(ctx, client.NewRecord("orders", key, value))
//	err = p.Close(ctx) // flushes
//
//	cs, err := client.NewConsumer(c, client.ConsumerConfig{AutoOffsetReset: client.ResetEarliest})
//	cs.Assign(client.TopicPartition{Topic: "orders", Partition: 0})
//	for {
//		records, err := cs.Poll(ctx)
//		...
//	}
//
// # Errors
//
// Broker errors are *Error (messages.Error) values carrying Kafka's error
// codes, wrapped with the topic and partition they concern: test them with
// errors.Is(err, client.ErrUnknownTopicOrPartition) and the other
// sentinels this package re-exports (exports.go, with the codecs), so
// callers need not import messages or storage/batch. A request without an answer in time is REQUEST_TIMED_OUT
// (and also matches context.DeadlineExceeded when the caller's context
// ran out). Retriable errors (messages.IsRetriable) are retried inside the
// client with exponential backoff, after refreshing metadata when the
// error says the cached leaders are stale. A request that reaches no actor
// (a dead letter: the replica is not on that node, or the node is down) is
// treated as NOT_LEADER_OR_FOLLOWER and retried the same way.
// Produce, fetch and list-offsets requests carry the leader epoch of the
// cached metadata (Kafka's KIP-320); a replica in another epoch answers
// FENCED_LEADER_EPOCH (messages.ErrFencedLeaderEpoch: the cache is stale)
// or UNKNOWN_LEADER_EPOCH (messages.ErrUnknownLeaderEpoch: the replica
// has not caught up with the metadata), both retriable after a refresh. A
// consumer's fetch beyond the log is an *OffsetOutOfRangeError unless the
// reset policy repositions it; after a leader change the consumer checks
// that the new leader's log still holds what it consumed, and a log
// truncated below its position (an unclean election) is a
// *LogTruncationError under ResetNone.
//
// # Producer
//
// Records are appended by the caller's goroutine into the open batch of
// their partition (a storage/batch Builder; the producer's mutex guards
// the builders), so no message or goroutine hop happens per record. A
// batch is sealed when the next record would overflow BatchBytes, when
// Linger expires, or on Flush, and is handed to the partition's sender
// goroutine, which compresses it, sends it to the leader as one
// ProduceRequest (several queued batches travel together), keeps at most
// MaxInFlight requests unanswered, retries in order and runs the delivery
// callbacks in offset order. MaxBufferedBytes bounds memory: ProduceAsync
// blocks while it is used up. Partitioning follows Kafka exactly (see
// package partitioner).
//
// The producer is idempotent by default (ProducerConfig.Idempotence, as
// Kafka clients since 3.0) when Acks is all, MaxInFlight at most 5 and
// retries are on; IdempotenceOn with a contradicting setting is a config
// error. Before its first send it asks a broker for a producer id and
// epoch (InitProducerId; the session type, producer_session.go). Every
// partition numbers its batches (producer id, epoch and base sequence in
// the batch header) as they are first sent, one batch per request (while
// the in-flight limit is used up the open batch grows past BatchBytes and
// batches that queued anyway are merged), and
// resends a failed one with the same numbers, in order, so the broker
// appends it once or answers it as a duplicate with the original offsets.
// OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID at the head of a
// partition's sequence (the broker lost the producer's state), or a batch
// that failed for good, move the partition to a bumped epoch (KIP-360:
// InitProducerId with the current id and epoch) where its sequences start
// again at 0: batches the broker refused are resent, batches an
// unanswered attempt may have written fail with ErrUnknownOutcome
// (producer_sequence.go).
//
// # Consumer
//
// Each assigned partition has one long-poll fetch in flight. When it is
// answered, the next one starts at once from the offset after the last
// batch received (up to two answers wait for Poll), so transfer and
// decoding overlap. A fetch returns whole batches; records before the
// position are skipped. Records of uncompressed batches share the fetch's
// buffer (keeping one record keeps that buffer alive); those of compressed
// batches are copied out of the decompression buffer.
//
// # Transport limits
//
// protoactor's remote sends a writer batch of messages as one gRPC
// message, and an oversized one tears the connection down. The client
// sizes its writer batch so that batch × MaxRequestBytes stays within
// 3 MiB, under gRPC's default 4 MiB receive limit, and accepts up to
// 256 MiB itself. Keepalives detect a hung broker; one connect attempt
// per endpoint makes requests to a dead node fail within seconds.
package client
