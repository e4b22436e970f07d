package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/client/admin"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

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
	for _, e := range admin.EffectiveConfigs(d) {
		t.row(e.Name, e.Value, e.Source)
	}
	if err := t.flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(a.stdout)
	return err
}
