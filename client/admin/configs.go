package admin

import (
	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

// The sources of an effective topic config, as Kafka's DescribeConfigs
// reports them (DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG).
const (
	SourceTopic   = "topic"   // the topic's override
	SourceNode    = "node"    // the node's configured default
	SourceDefault = "default" // Sluice's built-in default
)

// ConfigEntry is one effective topic config.
type ConfigEntry struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

// EffectiveConfigs returns every topic config of d with its value and
// where the value comes from, by name.
func EffectiveConfigs(d client.TopicDescription) []ConfigEntry {
	builtin := metadata.DefaultTopicConfig().Map()
	out := make([]ConfigEntry, 0, len(builtin))
	for _, name := range metadata.ConfigNames() {
		e := ConfigEntry{Name: name, Value: builtin[name], Source: SourceDefault}
		if v, ok := d.Defaults[name]; ok && v != builtin[name] {
			e.Value, e.Source = v, SourceNode
		}
		if v, ok := d.Configs[name]; ok {
			e.Value, e.Source = v, SourceTopic
		}
		out = append(out, e)
	}
	return out
}
