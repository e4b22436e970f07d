package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/client/admin"
)

func (a *app) topicCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "topic", Short: "Create, list, describe, alter and delete topics"}
	cmd.AddCommand(a.topicCreate(), a.topicList(), a.topicDescribe(), a.topicAlter(), a.topicDelete(), a.topicAddPartitions(),
		a.topicConfigs())
	return cmd
}

func (a *app) topicCreate() *cobra.Command {
	var partitions, rf int32
	var configs []string
	cmd := &cobra.Command{
		Use:   "create TOPIC",
		Short: "Create a topic",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := parseConfigs(configs)
			if err != nil {
				return err
			}
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			info, err := c.CreateTopic(cmd.Context(), args[0], partitions, rf, cfg)
			if err != nil {
				return err
			}
			if a.json() {
				return writeJSON(a.stdout, info)
			}
			fmt.Fprintf(a.stdout, "created topic %s with %s, replication factor %d\n", args[0], plural(int(partitions), "partition"), rf)
			return nil
		},
	}
	cmd.Flags().Int32VarP(&partitions, "partitions", "p", 1, "number of partitions")
	cmd.Flags().Int32VarP(&rf, "replication-factor", "r", 1, "replicas per partition")
	cmd.Flags().StringArrayVarP(&configs, "config", "c", nil, "topic config key=value (repeatable), e.g. retention.ms=86400000")
	return cmd
}

func (a *app) topicList() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List topics",
		Args:  cobra.NoArgs,
		RunE: runListing(a, (*client.Client).ListTopics, func(topics []client.TopicInfo) error {
			return topicsTable(a, topics)
		}),
	}
}

func topicsTable(a *app, topics []client.TopicInfo) error {
	t := newTable(a.stdout, "TOPIC", "PARTITIONS", "REPLICATION", "UNDER-REPLICATED", "OFFLINE")
	for _, s := range admin.SummarizeTopics(topics) {
		name := s.Name
		if s.Internal {
			name += " (internal)"
		}
		t.row(name, s.Partitions, s.ReplicationFactor, s.UnderReplicated, s.Offline)
	}
	return t.flush()
}

func (a *app) topicDescribe() *cobra.Command {
	return &cobra.Command{
		Use:   "describe TOPIC",
		Short: "Show a topic's effective configs, partitions, leaders, replicas and log offsets",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			d, err := c.DescribeTopic(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.json() {
				return writeJSON(a.stdout, struct {
					client.TopicDescription
					Effective []admin.ConfigEntry `json:"effective_configs"`
				}{d, admin.EffectiveConfigs(d)})
			}
			return describeTable(a, d)
		},
	}
}

func describeTable(a *app, d client.TopicDescription) error {
	fmt.Fprintf(a.stdout, "Topic: %s  Partitions: %d", d.Name, len(d.Partitions))
	if d.Internal {
		fmt.Fprint(a.stdout, "  (internal)")
	}
	fmt.Fprintln(a.stdout)
	if err := writeEffectiveConfigs(a, d); err != nil {
		return err
	}
	t := newTable(a.stdout, "PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "LOG-START", "LOG-END", "HW", "SIZE", "ERROR")
	for _, p := range d.Partitions {
		leader := strconv.Itoa(int(p.Leader))
		if p.Leader < 0 {
			leader = "none"
		}
		if p.Err != nil {
			t.row(p.Partition, leader, p.LeaderEpoch, ids(p.Replicas), ids(p.ISR), "-", "-", "-", "-", oneLine(p.Err))
			continue
		}
		t.row(p.Partition, leader, p.LeaderEpoch, ids(p.Replicas), ids(p.ISR), p.LogStartOffset, p.LogEndOffset,
			p.HighWatermark, humanBytes(p.SizeBytes), "")
	}
	return t.flush()
}

func (a *app) topicAlter() *cobra.Command {
	var set, del []string
	cmd := &cobra.Command{
		Use:   "alter TOPIC",
		Short: "Set or reset topic configs",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := parseConfigs(set)
			if err != nil {
				return err
			}
			if len(cfg) == 0 && len(del) == 0 {
				return usagef("nothing to alter: give --config or --delete-config")
			}
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			configs, err := c.AlterConfigs(cmd.Context(), args[0], cfg, del)
			if err != nil {
				return err
			}
			if a.json() {
				return writeJSON(a.stdout, configs)
			}
			t := newTable(a.stdout, "CONFIG", "VALUE")
			for _, k := range sortedKeys(configs) {
				t.row(k, configs[k])
			}
			return t.flush()
		},
	}
	cmd.Flags().StringArrayVarP(&set, "config", "c", nil, "config key=value to set (repeatable)")
	cmd.Flags().StringArrayVar(&del, "delete-config", nil, "config key to reset to the broker default (repeatable)")
	return cmd
}

func (a *app) topicDelete() *cobra.Command {
	return &cobra.Command{
		Use:   "delete TOPIC",
		Short: "Delete a topic and its data",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			if err := c.DeleteTopic(cmd.Context(), args[0]); err != nil {
				return err
			}
			if !a.json() {
				fmt.Fprintf(a.stdout, "deleted topic %s\n", args[0])
			}
			return nil
		},
	}
}

func (a *app) topicAddPartitions() *cobra.Command {
	var total int32
	cmd := &cobra.Command{
		Use:   "add-partitions TOPIC --partitions N",
		Short: "Grow a topic to N partitions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if total <= 0 {
				return usagef("--partitions: want the new total, at least 1")
			}
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			if err := c.CreatePartitions(cmd.Context(), args[0], total); err != nil {
				return err
			}
			if !a.json() {
				fmt.Fprintf(a.stdout, "topic %s now has %s\n", args[0], plural(int(total), "partition"))
			}
			return nil
		},
	}
	cmd.Flags().Int32VarP(&total, "partitions", "p", 0, "new total number of partitions")
	return cmd
}
