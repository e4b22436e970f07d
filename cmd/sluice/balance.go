package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/placement"
)

// reassignPoll is how often a running plan checks its moves.
const reassignPoll = 500 * time.Millisecond

// planFlags are the flags of the commands that plan replica moves.
type planFlags struct {
	dryRun   bool
	maxMoves int
}

func (f *planFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "print the plan and move nothing")
	cmd.Flags().IntVar(&f.maxMoves, "max-moves", 2, "partitions copied to new nodes at once (the throttle: each copies its whole log)")
}

func (a *app) clusterBalance() *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "balance",
		Short: "Spread replicas and preferred leaders evenly over the live nodes (say, after adding a node)",
		Long: "balance plans the fewest replica moves that leave every live node within one replica and one\n" +
			"preferred leadership of the others, carries them out with partition reassignments, at most\n" +
			"--max-moves at a time, waits for them, then moves leadership to the preferred replicas.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runPlan(cmd.Context(), f, func(m client.Metadata) ([]int32, error) {
				return brokerIDs(m), nil
			})
		},
	}
	f.register(cmd)
	return cmd
}

func (a *app) nodeCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "node", Short: "Take nodes out of the cluster's placement"}
	var dryRun, cancel, wait bool
	decommission := &cobra.Command{
		Use:   "decommission NODE",
		Short: "Have the controller move every replica off a node (to the other live nodes, evenly), so it can be removed",
		Long: "decommission records in the metadata that NODE leaves the placement; the controller's automatic\n" +
			"balance (balance.auto) then moves its replicas to the other live nodes, balance.max_moves at a\n" +
			"time, throttled by replication.reassignment_throttle_bytes. --wait returns once the node holds\n" +
			"no replica; --cancel puts the node back into placement; --dry-run prints the moves.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 32)
			if err != nil {
				return usagef("node id %q: want a number", args[0])
			}
			node := int32(id)
			if dryRun {
				return a.runPlan(cmd.Context(), planFlags{dryRun: true, maxMoves: 1}, func(m client.Metadata) ([]int32, error) {
					nodes := slices.DeleteFunc(brokerIDs(m), func(n int32) bool { return n == node })
					if len(nodes) == 0 {
						return nil, fmt.Errorf("no other live node to move the replicas of node %d to", node)
					}
					return nodes, nil
				})
			}
			return a.decommission(cmd.Context(), node, cancel, wait)
		},
	}
	decommission.Flags().BoolVar(&dryRun, "dry-run", false, "print the moves and record nothing")
	decommission.Flags().BoolVar(&cancel, "cancel", false, "put the node back into placement (replicas moved already stay where they are)")
	decommission.Flags().BoolVar(&wait, "wait", false, "wait until the node holds no replica")
	cmd.AddCommand(decommission)
	return cmd
}

// decommission records (or cancels) a node's decommission and, with
// wait, polls the metadata until no partition lists the node.
func (a *app) decommission(ctx context.Context, node int32, cancel, wait bool) error {
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer a.closeClient(c)
	if err := c.DecommissionNode(ctx, node, cancel); err != nil {
		return err
	}
	if !a.json() {
		if cancel {
			fmt.Fprintf(a.stdout, "node %d is back in placement\n", node)
		} else {
			fmt.Fprintf(a.stdout, "node %d decommissioned: the controller moves its replicas to the other nodes\n", node)
		}
	}
	left := 0
	for wait && !cancel {
		m, err := c.Metadata(ctx)
		if err != nil {
			return err
		}
		left = 0
		for _, t := range m.Topics {
			for _, p := range t.Partitions {
				if slices.Contains(p.Replicas, node) {
					left++
				}
			}
		}
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(reassignPoll):
		}
	}
	if a.json() {
		out := struct {
			Node           int32 `json:"node"`
			Decommissioned bool  `json:"decommissioned"`
			// ReplicasLeft is set with --wait: 0 once it returns.
			ReplicasLeft *int `json:"replicas_left,omitempty"`
		}{Node: node, Decommissioned: !cancel}
		if wait && !cancel {
			out.ReplicasLeft = &left
		}
		return writeJSON(a.stdout, out)
	}
	if wait && !cancel {
		fmt.Fprintf(a.stdout, "node %d holds no replica\n", node)
	}
	return nil
}

func brokerIDs(m client.Metadata) []int32 {
	ids := make([]int32, 0, len(m.Brokers))
	for _, b := range m.Brokers {
		ids = append(ids, b.NodeID)
	}
	return ids
}

// planMove is one line of a plan.
type planMove struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	From      []int32 `json:"from"`
	To        []int32 `json:"to"`
	// Copies is false for a reorder, which moves no data.
	Copies bool `json:"copies"`
}

// runPlan plans the moves onto the nodes target returns, prints them and,
// unless --dry-run, carries them out.
func (a *app) runPlan(ctx context.Context, f planFlags, target func(client.Metadata) ([]int32, error)) error {
	if f.maxMoves < 1 {
		return usagef("--max-moves %d: must be at least 1", f.maxMoves)
	}
	c, err := a.client(ctx)
	if err != nil {
		return err
	}
	defer a.closeClient(c)
	m, err := c.Metadata(ctx)
	if err != nil {
		return err
	}
	nodes, err := target(m)
	if err != nil {
		return err
	}
	moving, err := c.ListReassignments(ctx)
	if err != nil {
		return err
	}
	var parts []placement.Replicas
	for _, t := range m.Topics {
		for _, p := range t.Partitions {
			busy := slices.ContainsFunc(moving, func(r client.Reassignment) bool { return r.Topic == t.Name && r.Partition == p.Partition })
			if !busy && len(p.Replicas) > 0 {
				parts = append(parts, placement.Replicas{Topic: t.Name, Partition: p.Partition, Nodes: p.Replicas})
			}
		}
	}
	plan := placement.Balance(parts, nodes)
	lines := make([]planMove, len(plan))
	for i, mv := range plan {
		lines[i] = planMove{Topic: mv.Topic, Partition: mv.Partition, From: mv.From, To: mv.To,
			Copies: slices.ContainsFunc(mv.To, func(n int32) bool { return !slices.Contains(mv.From, n) })}
	}
	if a.json() && f.dryRun {
		return writeJSON(a.stdout, lines)
	}
	if !a.json() {
		if len(lines) == 0 {
			fmt.Fprintln(a.stdout, "balanced: nothing to move")
			return nil
		}
		t := newTable(a.stdout, "TOPIC", "PARTITION", "FROM", "TO", "COPIES DATA")
		for _, l := range lines {
			t.row(l.Topic, l.Partition, ids(l.From), ids(l.To), l.Copies)
		}
		if err := t.flush(); err != nil {
			return err
		}
	}
	if f.dryRun {
		return nil
	}
	if err := a.executePlan(ctx, c, lines, f.maxMoves); err != nil {
		return err
	}
	results, err := c.ElectLeaders(ctx, client.PreferredElection, "")
	if err != nil {
		return err
	}
	elected := 0
	for _, r := range results {
		if r.Err == nil {
			elected++
		}
	}
	if a.json() {
		return writeJSON(a.stdout, struct {
			Moves   []planMove `json:"moves"`
			Elected int        `json:"leaders_moved"`
		}{lines, elected})
	}
	fmt.Fprintf(a.stdout, "moved %s; %s moved to the preferred replica\n", plural(len(lines), "partition"), plural(elected, "leadership"))
	return nil
}

// executePlan starts the moves, keeping at most maxMoves that copy data
// in progress, and returns once all have completed.
func (a *app) executePlan(ctx context.Context, c *client.Client, lines []planMove, maxMoves int) error {
	queue := slices.Clone(lines)
	inFlight := map[string]planMove{}
	key := func(topic string, p int32) string { return topic + "/" + strconv.Itoa(int(p)) }
	for len(queue) > 0 || len(inFlight) > 0 {
		for len(queue) > 0 && (len(inFlight) < maxMoves || !queue[0].Copies) {
			l := queue[0]
			queue = queue[1:]
			err := c.ReassignPartition(ctx, l.Topic, l.Partition, l.To)
			if errors.Is(err, client.ErrReassignmentInProgress) {
				fmt.Fprintf(a.stderr, "sluice: %s/%d is being moved already; left out\n", l.Topic, l.Partition)
				continue
			}
			if err != nil {
				return err
			}
			if l.Copies {
				inFlight[key(l.Topic, l.Partition)] = l
			}
		}
		if len(inFlight) == 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(reassignPoll):
		}
		list, err := c.ListReassignments(ctx)
		if err != nil {
			return err
		}
		running := map[string]bool{}
		for _, r := range list {
			running[key(r.Topic, r.Partition)] = true
		}
		for k, l := range inFlight {
			if !running[k] {
				delete(inFlight, k)
				if !a.json() {
					fmt.Fprintf(a.stdout, "moved %s to %s\n", k, ids(l.To))
				}
			}
		}
	}
	return nil
}
