package metadata

import "sort"

// ConfigType is the value type of a topic config, by Kafka's names.
type ConfigType string

// The types of topic configs.
const (
	ConfigTypeBoolean ConfigType = "boolean"
	ConfigTypeString  ConfigType = "string"
	ConfigTypeInt     ConfigType = "int"
	ConfigTypeLong    ConfigType = "long"
	ConfigTypeDouble  ConfigType = "double"
	ConfigTypeList    ConfigType = "list"
)

// ConfigDoc describes one topic config for people and tools: its type,
// the broker config Kafka names as its default's synonym, and a line of
// documentation.
type ConfigDoc struct {
	Name       string     `json:"name"`
	Type       ConfigType `json:"type"`
	BrokerName string     `json:"broker_name"`
	Doc        string     `json:"doc"`
}

// configDocs has an entry for every name in ConfigNames
// (TestConfigDocsCoverEveryName).
var configDocs = map[string]ConfigDoc{
	ConfigRetentionMs: {Type: ConfigTypeLong, BrokerName: "log.retention.ms",
		Doc: "How long a log segment is kept before it is deleted; -1 keeps data forever."},
	ConfigRetentionBytes: {Type: ConfigTypeLong, BrokerName: "log.retention.bytes",
		Doc: "The largest size a partition may grow to before old segments are deleted; -1 is unlimited."},
	ConfigSegmentBytes: {Type: ConfigTypeInt, BrokerName: "log.segment.bytes",
		Doc: "The size at which the active segment rolls."},
	ConfigSegmentMs: {Type: ConfigTypeLong, BrokerName: "log.roll.ms",
		Doc: "The age at which the active segment rolls."},
	ConfigMaxMessageBytes: {Type: ConfigTypeInt, BrokerName: "message.max.bytes",
		Doc: "The largest record batch the partition accepts."},
	ConfigCleanupPolicy: {Type: ConfigTypeList, BrokerName: "log.cleanup.policy",
		Doc: "delete, compact, or both: how old segments are cleaned up."},
	ConfigCompressionType: {Type: ConfigTypeString, BrokerName: "compression.type",
		Doc: "The codec batches are stored in; producer keeps the producer's."},
	ConfigFlushPolicy: {Type: ConfigTypeString, BrokerName: "log.flush.policy",
		Doc: "When the log is fsynced: never (leave it to the OS and replication), interval or always."},
	ConfigFlushIntervalMs: {Type: ConfigTypeLong, BrokerName: "log.flush.interval.ms",
		Doc: "The group-commit window of flush.policy=interval."},
	ConfigMinInsyncReplicas: {Type: ConfigTypeInt, BrokerName: "min.insync.replicas",
		Doc: "The fewest in-sync replicas an acks=all produce needs."},
	ConfigUncleanLeaderElection: {Type: ConfigTypeBoolean, BrokerName: "unclean.leader.election.enable",
		Doc: "Whether an out-of-sync replica may become leader when no in-sync one is alive, losing data."},
	ConfigDeleteRetentionMs: {Type: ConfigTypeLong, BrokerName: "log.cleaner.delete.retention.ms",
		Doc: "How long compaction keeps tombstones."},
	ConfigMessageTimestampType: {Type: ConfigTypeString, BrokerName: "log.message.timestamp.type",
		Doc: "CreateTime or LogAppendTime."},
	ConfigMinCleanableDirtyRatio: {Type: ConfigTypeDouble, BrokerName: "log.cleaner.min.cleanable.ratio",
		Doc: "The dirty share of a compacted log at which it is cleaned."},
	ConfigMinCompactionLagMs: {Type: ConfigTypeLong, BrokerName: "log.cleaner.min.compaction.lag.ms",
		Doc: "Records younger than this stay out of compaction."},
	ConfigMaxCompactionLagMs: {Type: ConfigTypeLong, BrokerName: "log.cleaner.max.compaction.lag.ms",
		Doc: "A dirty segment this old is cleaned whatever the ratio."},
}

func init() {
	for name, d := range configDocs {
		d.Name = name
		configDocs[name] = d
	}
}

// ConfigDocOf returns the description of the topic config name.
func ConfigDocOf(name string) (ConfigDoc, bool) {
	d, ok := configDocs[name]
	return d, ok
}

// ConfigDocs returns the description of every topic config, by name.
func ConfigDocs() []ConfigDoc {
	docs := make([]ConfigDoc, 0, len(configDocs))
	for _, d := range configDocs {
		docs = append(docs, d)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].Name < docs[j].Name })
	return docs
}
