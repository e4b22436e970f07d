// Package metadata is Sluice's typed cluster metadata on top of a
// cluster.Store: topics (name, id, configs, replica assignment) and
// partition states (leader, leader epoch, ISR). Every change is a
// check-and-set, so concurrent writers (the controller, partition leaders
// shrinking or expanding their ISR) never overwrite each other.
//
// # Keys
//
//	topics/<name>                    Topic as JSON:
//	    {"name":"orders","id":"<32 hex>","configs":{"retention.ms":"3600000"},
//	     "replicas":[[1,2,3],[2,3,1]],"internal":false}
//	partitions/<topic>/<partition>   PartitionState as JSON:
//	    {"leader":1,"leader_epoch":0,"isr":[1,2,3]}
//	cluster/id                       the cluster id, 32 hex digits (EnsureClusterID)
//	deleted-topics/<topic id>        DeletedTopic as JSON, the recorded delete:
//	    {"name":"orders","id":"<32 hex>","deleted_at_ms":1700000000000}
//	producer-ids/block               the latest claimed producer id block,
//	    owned by cluster/producerid: {"node_id":2,"start":3000,"size":1000}
//
// A node removes a replica's data only on a recorded delete (a
// deleted-topics record of its topic id) or when the topic, same id, no
// longer lists the node for that partition (a finished reassignment);
// a topic that is merely missing is never deleted data. At most
// MaxDeletedTopics records are kept, the oldest dropped first.
//
// <partition> is the decimal partition number. Topic names cannot contain
// '/', so the prefix partitions/<topic>/ holds exactly one topic's states.
// Configs holds only the topic's overrides; the effective configuration is
// ParseTopicConfig(topic.Configs, brokerDefaults, rf) (Topic.Config).
//
// # Ordering
//
// CreateTopic writes the topic key first (create-only, so a duplicate fails
// with messages.ErrTopicAlreadyExists before anything else is touched), then
// the partition states. DeleteTopic writes the delete record first, then deletes the
// topic key, then the states. The topic key is therefore the commit point of both: readers
// (Snapshot) ignore states of topics that do not exist, and a new topic
// overwrites states left behind by an interrupted delete. Between the two
// steps of a create, a reader can see a topic whose partitions have no state
// yet; it reports them as having no leader. AddPartitions follows the same
// order: the grown topic first, then the new partitions' states.
//
// # Reading
//
//	snap, err := metadata.Load(ctx, st)
//	for {
//		snap, err = metadata.WatchSnapshot(ctx, st, snap.Index) // blocks
//		...
//	}
//
// Errors that a client should see carry wire codes (messages.Error):
// unknown topics wrap messages.ErrUnknownTopicOrPartition, bad names
// messages.ErrInvalidTopic, bad configs messages.ErrInvalidConfig.
package metadata
