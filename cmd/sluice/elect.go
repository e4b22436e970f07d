package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
)

// electResult is one partition's line of `partition elect-leaders`.
type electResult struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Leader    int32  `json:"leader"`
	// Result is elected, not_needed or failed (Error says why).
	Result string `json:"result"`
	Error  string `json:"error,omitempty"`
}

func (a *app) partitionElectLeaders() *cobra.Command {
	var (
		topic     string
		partition int32
		kind      string
	)
	cmd := &cobra.Command{
		Use:   "elect-leaders",
		Short: "Move partition leadership to the preferred replicas (the first of each replica list)",
		Long: "elect-leaders moves the leadership of every partition (of --topic, or only --partition of it)\n" +
			"to its preferred replica when that replica is live and in sync. --type unclean instead gives\n" +
			"partitions with no live in-sync replica a leader from the live replicas: records only the\n" +
			"lost replicas had are gone. Exits 1 when a partition could not be elected.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var election client.ElectionType
			switch kind {
			case "preferred":
				election = client.PreferredElection
			case "unclean":
				election = client.UncleanElection
			default:
				return usagef("--type %q: want preferred or unclean", kind)
			}
			var partitions []int32
			if partition >= 0 {
				if topic == "" {
					return usagef("--partition needs --topic")
				}
				partitions = []int32{partition}
			}
			ctx := cmd.Context()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			results, err := c.ElectLeaders(ctx, election, topic, partitions...)
			if err != nil {
				return err
			}
			return a.writeElections(results)
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&topic, "topic", "t", "", "topic whose partitions to elect (default: every topic)")
	fs.Int32VarP(&partition, "partition", "p", -1, "only this partition of --topic")
	fs.StringVar(&kind, "type", "preferred", "election type: preferred or unclean")
	return cmd
}

// writeElections prints the results and fails when a partition could not
// be elected (one not needing it is fine).
func (a *app) writeElections(results []client.ElectionResult) error {
	out := make([]electResult, 0, len(results))
	failed := 0
	for _, r := range results {
		line := electResult{Topic: r.Topic, Partition: r.Partition, Leader: r.Leader, Result: "elected"}
		switch {
		case r.Err == nil:
		case errors.Is(r.Err, client.ErrElectionNotNeeded):
			line.Result = "not_needed"
		default:
			line.Result, line.Error = "failed", describeError(r.Err)
			failed++
		}
		out = append(out, line)
	}
	if a.json() {
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
	} else {
		t := newTable(a.stdout, "TOPIC", "PARTITION", "LEADER", "RESULT")
		for _, r := range out {
			result := r.Result
			if r.Error != "" {
				result += ": " + r.Error
			}
			t.row(r.Topic, r.Partition, r.Leader, result)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("leader election failed for %s", plural(failed, "partition"))
	}
	return nil
}
