package handler

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/metadata"
)

// configDef describes one topic config for DescribeConfigs: its type, the
// broker config Kafka names as its default's synonym, and a line of
// documentation.
type configDef struct {
	typ    kmsg.ConfigType
	broker string
	doc    string
}

// configDefs has an entry for every name in metadata.ConfigNames
// (TestConfigDefsCoverEveryName).
var configDefs = map[string]configDef{
	metadata.ConfigRetentionMs: {kmsg.ConfigTypeLong, "log.retention.ms",
		"How long a log segment is kept before it is deleted; -1 keeps data forever."},
	metadata.ConfigRetentionBytes: {kmsg.ConfigTypeLong, "log.retention.bytes",
		"The largest size a partition may grow to before old segments are deleted; -1 is unlimited."},
	metadata.ConfigSegmentBytes: {kmsg.ConfigTypeInt, "log.segment.bytes",
		"The size at which the active segment rolls."},
	metadata.ConfigSegmentMs: {kmsg.ConfigTypeLong, "log.roll.ms",
		"The age at which the active segment rolls."},
	metadata.ConfigMaxMessageBytes: {kmsg.ConfigTypeInt, "message.max.bytes",
		"The largest record batch the partition accepts."},
	metadata.ConfigCleanupPolicy: {kmsg.ConfigTypeList, "log.cleanup.policy",
		"delete, compact, or both: how old segments are cleaned up."},
	metadata.ConfigCompressionType: {kmsg.ConfigTypeString, "compression.type",
		"The codec batches are stored in; producer keeps the producer's."},
	metadata.ConfigFlushPolicy: {kmsg.ConfigTypeString, "log.flush.policy",
		"When the log is fsynced: never (leave it to the OS and replication), interval or always."},
	metadata.ConfigFlushIntervalMs: {kmsg.ConfigTypeLong, "log.flush.interval.ms",
		"The group-commit window of flush.policy=interval."},
	metadata.ConfigMinInsyncReplicas: {kmsg.ConfigTypeInt, "min.insync.replicas",
		"The fewest in-sync replicas an acks=all produce needs."},
	metadata.ConfigUncleanLeaderElection: {kmsg.ConfigTypeBoolean, "unclean.leader.election.enable",
		"Whether an out-of-sync replica may become leader when no in-sync one is alive, losing data."},
	metadata.ConfigDeleteRetentionMs: {kmsg.ConfigTypeLong, "log.cleaner.delete.retention.ms",
		"How long compaction keeps tombstones."},
	metadata.ConfigMessageTimestampType: {kmsg.ConfigTypeString, "log.message.timestamp.type",
		"CreateTime or LogAppendTime."},
	metadata.ConfigMinCleanableDirtyRatio: {kmsg.ConfigTypeDouble, "log.cleaner.min.cleanable.ratio",
		"The dirty share of a compacted log at which it is cleaned."},
	metadata.ConfigMinCompactionLagMs: {kmsg.ConfigTypeLong, "log.cleaner.min.compaction.lag.ms",
		"Records younger than this stay out of compaction."},
	metadata.ConfigMaxCompactionLagMs: {kmsg.ConfigTypeLong, "log.cleaner.max.compaction.lag.ms",
		"A dirty segment this old is cleaned whatever the ratio."},
}

// configEntry is one effective topic config as DescribeConfigs answers
// it: the override when the topic has one (DYNAMIC_TOPIC_CONFIG), else
// the node's default, STATIC_BROKER_CONFIG when the node's configuration
// changed Kafka's default and DEFAULT_CONFIG when it did not. Synonyms
// list the override and then the default, highest precedence first.
func configEntry(name string, overrides map[string]string, nodeDefaults, kafkaDefaults map[string]string, version int16, synonyms, docs bool) kmsg.DescribeConfigsResponseResourceConfig {
	def := configDefs[name]
	c := kmsg.NewDescribeConfigsResponseResourceConfig()
	c.Name = name
	defSource := kmsg.ConfigSourceDefaultConfig
	defName := name
	if nodeDefaults[name] != kafkaDefaults[name] {
		defSource, defName = kmsg.ConfigSourceStaticBrokerConfig, def.broker
	}
	value, overridden := overrides[name]
	if overridden {
		c.Source = kmsg.ConfigSourceDynamicTopicConfig
	} else {
		value = nodeDefaults[name]
		c.Source = defSource
		c.IsDefault = defSource == kmsg.ConfigSourceDefaultConfig
	}
	c.Value = kmsg.StringPtr(value)
	if synonyms && version >= 1 {
		if overridden {
			s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
			s.Name, s.Value, s.Source = name, kmsg.StringPtr(value), kmsg.ConfigSourceDynamicTopicConfig
			c.ConfigSynonyms = append(c.ConfigSynonyms, s)
		}
		s := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
		s.Name, s.Value, s.Source = defName, kmsg.StringPtr(nodeDefaults[name]), defSource
		c.ConfigSynonyms = append(c.ConfigSynonyms, s)
	}
	if version >= 3 {
		c.ConfigType = def.typ
		if docs {
			c.Documentation = kmsg.StringPtr(def.doc)
		}
	}
	return c
}

// brokerEntries are a node's configs as a BROKER resource: its id and the
// topic defaults under their broker names. None of them can be changed at
// run time (read only).
func brokerEntries(nodeID int32, nodeDefaults, kafkaDefaults map[string]string, names []string, version int16, docs bool) []kmsg.DescribeConfigsResponseResourceConfig {
	want := func(n string) bool {
		if names == nil {
			return true
		}
		for _, w := range names {
			if w == n {
				return true
			}
		}
		return false
	}
	entry := func(name, value string, typ kmsg.ConfigType, doc string, isDefault bool) kmsg.DescribeConfigsResponseResourceConfig {
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value, c.ReadOnly, c.IsDefault = name, kmsg.StringPtr(value), true, isDefault
		c.Source = kmsg.ConfigSourceStaticBrokerConfig
		if isDefault {
			c.Source = kmsg.ConfigSourceDefaultConfig
		}
		if version >= 3 {
			c.ConfigType = typ
			if docs {
				c.Documentation = kmsg.StringPtr(doc)
			}
		}
		return c
	}
	var out []kmsg.DescribeConfigsResponseResourceConfig
	if want("broker.id") {
		out = append(out, entry("broker.id", strconv.Itoa(int(nodeID)), kmsg.ConfigTypeInt, "The node's id.", false))
	}
	for _, name := range metadata.ConfigNames() {
		def := configDefs[name]
		if !want(def.broker) {
			continue
		}
		out = append(out, entry(def.broker, nodeDefaults[name], def.typ, def.doc, nodeDefaults[name] == kafkaDefaults[name]))
	}
	return out
}
