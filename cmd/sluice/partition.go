package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
)

func (a *app) partitionCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "partition", Short: "Move partition replicas and leadership between nodes, delete a partition's old records"}
	cmd.AddCommand(a.partitionReassign(), a.partitionReassignments(), a.partitionElectLeaders(), a.partitionDeleteRecords())
	return cmd
}

// reassignFlags selects the partitions to move and where to.
type reassignFlags struct {
	partition int32
	replicas  string
	allFrom   int32
	to        int32
	wait      bool
}

func (a *app) partitionReassign() *cobra.Command {
	var f reassignFlags
	cmd := &cobra.Command{
		Use:   "reassign TOPIC",
		Short: "Move a partition to other nodes (--partition P --replicas 4,2,3), or every replica of a topic off a node (--all-from 1 --to 4)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			moves, err := f.moves(ctx, c, args[0])
			if err != nil {
				return err
			}
			for _, p := range slices.Sorted(maps.Keys(moves)) {
				replicas := moves[p]
				if err := c.ReassignPartition(ctx, args[0], p, replicas); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "reassigning %s/%d to %s\n", args[0], p, ids(replicas))
			}
			if !f.wait {
				return nil
			}
			return a.waitReassignments(ctx, c, args[0])
		},
	}
	fs := cmd.Flags()
	fs.Int32Var(&f.partition, "partition", -1, "partition to move (required with --replicas; limits --all-from to it)")
	fs.StringVar(&f.replicas, "replicas", "", "new replica node ids, the preferred leader first, e.g. 4,2,3")
	fs.Int32Var(&f.allFrom, "all-from", -1, "node whose replicas of the topic move (with --to)")
	fs.Int32Var(&f.to, "to", -1, "node they move to, taking the same place in each replica list")
	fs.BoolVar(&f.wait, "wait", false, "wait until the topic has no reassignment in progress")
	return cmd
}

// moves returns the target replicas by partition.
func (f *reassignFlags) moves(ctx context.Context, c *client.Client, topic string) (map[int32][]int32, error) {
	switch {
	case f.replicas != "" && f.allFrom < 0:
		if f.partition < 0 {
			return nil, usagef("--replicas needs --partition")
		}
		replicas, err := parseIDs(f.replicas)
		if err != nil {
			return nil, err
		}
		return map[int32][]int32{f.partition: replicas}, nil
	case f.replicas == "" && f.allFrom >= 0:
		if f.to < 0 {
			return nil, usagef("--all-from needs --to")
		}
		info, err := c.DescribeTopic(ctx, topic)
		if err != nil {
			return nil, err
		}
		moves := make(map[int32][]int32)
		for _, p := range info.Partitions {
			i := slices.Index(p.Replicas, f.allFrom)
			if i < 0 || slices.Contains(p.Replicas, f.to) || (f.partition >= 0 && p.Partition != f.partition) {
				continue
			}
			replicas := slices.Clone(p.Replicas)
			replicas[i] = f.to
			moves[p.Partition] = replicas
		}
		return moves, nil
	default:
		return nil, usagef("give either --partition and --replicas, or --all-from and --to")
	}
}

// parseIDs parses "4,2,3".
func parseIDs(s string) ([]int32, error) {
	var out []int32
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(part), 10, 32)
		if err != nil {
			return nil, usagef("--replicas %q: %v", s, err)
		}
		out = append(out, int32(n))
	}
	return out, nil
}

// waitReassignments polls until topic has no reassignment in progress.
func (a *app) waitReassignments(ctx context.Context, c *client.Client, topic string) error {
	for {
		list, err := c.ListReassignments(ctx)
		if err != nil {
			return err
		}
		pending := slices.ContainsFunc(list, func(r client.Reassignment) bool { return r.Topic == topic })
		if !pending {
			fmt.Fprintf(a.stdout, "reassignment of %s complete\n", topic)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (a *app) partitionReassignments() *cobra.Command {
	return &cobra.Command{
		Use:   "reassignments",
		Short: "List the partition reassignments in progress",
		Args:  cobra.NoArgs,
		RunE: runListing(a, (*client.Client).ListReassignments, func(list []client.Reassignment) error {
			t := newTable(a.stdout, "TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR", "TARGET", "ADDING", "REMOVING")
			for _, r := range list {
				t.row(r.Topic, r.Partition, r.Leader, ids(r.Replicas), ids(r.ISR), ids(r.Target), ids(r.Adding), ids(r.Removing))
			}
			return t.flush()
		}),
	}
}

// partitionDeleteRecords is kafka-delete-records: the records of a
// partition below an offset become unreadable.
func (a *app) partitionDeleteRecords() *cobra.Command {
	var partition int32
	var offset int64
	cmd := &cobra.Command{
		Use:   "delete-records TOPIC --partition P --offset O",
		Short: "Delete a partition's records below an offset (-1: all committed records); prints the new log start",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if partition < 0 {
				return usagef("--partition is required")
			}
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			low, err := c.DeleteRecords(ctx, args[0], partition, offset)
			if err != nil {
				return err
			}
			if a.json() {
				return writeJSON(a.stdout, struct {
					Topic        string `json:"topic"`
					Partition    int32  `json:"partition"`
					LowWatermark int64  `json:"low_watermark"`
				}{args[0], partition, low})
			}
			fmt.Fprintf(a.stdout, "%s/%d now starts at offset %d\n", args[0], partition, low)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.Int32VarP(&partition, "partition", "p", -1, "partition whose records go")
	fs.Int64Var(&offset, "offset", -1, "first offset to keep; -1 is the high watermark (delete every committed record)")
	return cmd
}
