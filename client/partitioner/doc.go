// Package partitioner chooses the partition of a produced record, the way
// Kafka's Java producer does.
//
// The default partitioner (Default) sends a record with a key to
// toPositive(murmur2(key)) % partitions, bit for bit what Kafka's
// DefaultPartitioner and franz-go's StickyKeyPartitioner compute, so keys
// land on the same partitions whichever client wrote them. A record without
// a key goes to a sticky partition: every keyless record joins the same
// partition's batch until that batch is sealed, then the partitioner moves
// to another partition (Kafka's KIP-480). Sticky keeps batches large at low
// rates, where round robin would send one tiny batch per partition.
//
//	p := partitioner.Default().ForTopic("orders")
//	part := p.Partition([]byte("customer-42"), 12) // always the same partition
//
// Other partitioners: Sticky (ignores keys), RoundRobin, Hash (keys only,
// with a caller-chosen fallback for null keys).
package partitioner
