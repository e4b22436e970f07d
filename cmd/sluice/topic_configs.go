package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

// The sources of an effective topic config, as Kafka's DescribeConfigs
// reports them (DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG).
const (
	sourceTopic   = "topic"   // the topic's override
	sourceNode    = "node"    // the node's configured default
	sourceDefault = "default" // Sluice's built-in default
)

// configEntry is one effective topic config.
type configEntry struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

// effectiveConfigs returns every topic config of d with its value and
// where the value comes from, by name.
func effectiveConfigs(d client.TopicDescription) []configEntry {
	builtin := metadata.DefaultTopicConfig().Map()
	out := make([]configEntry, 0, len(builtin))
	for _, name := range metadata.ConfigNames() {
		e := configEntry{Name: name, Value: builtin[name], Source: sourceDefault}
		if v, ok := d.Defaults[name]; ok && v != builtin[name] {
			e.Value, e.Source = v, sourceNode
		}
		if v, ok := d.Configs[name]; ok {
			e.Value, e.Source = v, sourceTopic
		}
		out = append(out, e)
	}
	return out
}

func (a *app) topicConfigs() *cobra.Command {
	return &cobra.Command{
		Use:   "configs",
		Short: "List every topic config key with its type, default and meaning",
		Long: "configs lists the topic configs topic create -c and topic alter -c accept,\n" +
			"with Sluice's built-in default (a node's configuration may change it:\n" +
			"topic describe shows the effective values and their source).",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			defaults := metadata.DefaultTopicConfig().Map()
			type keyDoc struct {
				metadata.ConfigDoc
				Default string `json:"default"`
			}
			docs := metadata.ConfigDocs()
			keys := make([]keyDoc, len(docs))
			for i, d := range docs {
				keys[i] = keyDoc{d, defaults[d.Name]}
			}
			if a.json() {
				return writeJSON(a.stdout, keys)
			}
			t := newTable(a.stdout, "KEY", "TYPE", "DEFAULT", "MEANING")
			for _, k := range keys {
				t.row(k.Name, k.Type, k.Default, k.Doc)
			}
			return t.flush()
		},
	}
}

// writeEffectiveConfigs prints the CONFIG/VALUE/SOURCE table of describe.
func writeEffectiveConfigs(a *app, d client.TopicDescription) error {
	t := newTable(a.stdout, "CONFIG", "VALUE", "SOURCE")
	for _, e := range effectiveConfigs(d) {
		t.row(e.Name, e.Value, e.Source)
	}
	if err := t.flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(a.stdout)
	return err
}
