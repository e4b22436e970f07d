package handler

import (
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/metadata"
)

// configDef is a topic config's description (metadata.ConfigDoc) in
// DescribeConfigs' terms.
type configDef struct {
	typ    kmsg.ConfigType
	broker string
	doc    string
}

// kafkaTypes maps metadata's config types to DescribeConfigs' (v3+).
var kafkaTypes = map[metadata.ConfigType]kmsg.ConfigType{
	metadata.ConfigTypeBoolean: kmsg.ConfigTypeBoolean,
	metadata.ConfigTypeString:  kmsg.ConfigTypeString,
	metadata.ConfigTypeInt:     kmsg.ConfigTypeInt,
	metadata.ConfigTypeLong:    kmsg.ConfigTypeLong,
	metadata.ConfigTypeDouble:  kmsg.ConfigTypeDouble,
	metadata.ConfigTypeList:    kmsg.ConfigTypeList,
}

// configDefs has an entry for every name in metadata.ConfigNames
// (TestConfigDefsCoverEveryName).
var configDefs = func() map[string]configDef {
	defs := map[string]configDef{}
	for _, d := range metadata.ConfigDocs() {
		defs[d.Name] = configDef{typ: kafkaTypes[d.Type], broker: d.BrokerName, doc: d.Doc}
	}
	return defs
}()

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
