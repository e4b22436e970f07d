package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/client/admin"
)

func (a *app) groupCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "group", Short: "List, describe, reset and delete consumer groups"}
	cmd.AddCommand(a.groupList(), a.groupDescribe(), a.groupResetOffsets(), a.groupDelete())
	return cmd
}

func (a *app) groupList() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List consumer groups",
		Args:  cobra.NoArgs,
		RunE: runListing(a, (*client.Client).ListGroups, func(groups []client.GroupListing) error {
			t := newTable(a.stdout, "GROUP", "STATE", "PROTOCOL-TYPE", "COORDINATOR")
			for _, g := range groups {
				t.row(g.GroupID, g.State, dash(g.ProtocolType), g.Coordinator)
			}
			return t.flush()
		}),
	}
}

func (a *app) groupDescribe() *cobra.Command {
	return &cobra.Command{
		Use:   "describe GROUP",
		Short: "Show a group's state, members, and committed offset, log end and lag per partition",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			r, err := admin.DescribeGroup(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if a.json() {
				return writeJSON(a.stdout, r)
			}
			fmt.Fprintf(a.stdout, "group %s: %s, protocol %s, generation %d, %s\n\n",
				r.GroupID, r.State, dash(r.Protocol), r.Generation, plural(len(r.Members), "member"))
			t := newTable(a.stdout, "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "MEMBER-ID", "CLIENT-ID", "HOST")
			for _, p := range r.Partitions {
				current := "-"
				if p.Committed >= 0 {
					current = strconv.FormatInt(p.Committed, 10)
				}
				t.row(p.Topic, p.Partition, current, p.LogEndOffset, p.Lag, dash(p.MemberID), dash(p.ClientID), dash(p.Host))
			}
			return t.flush()
		},
	}
}

type resetFlags struct {
	topics     []string
	toEarliest bool
	toLatest   bool
	toOffset   int64
	toDatetime string
	shiftBy    int64
	dryRun     bool
	execute    bool
}

func (a *app) groupResetOffsets() *cobra.Command {
	var f resetFlags
	cmd := &cobra.Command{
		Use:   "reset-offsets GROUP --topic TOPIC[:P,P...] (--to-earliest|--to-latest|--to-offset N|--to-datetime TIME|--shift-by N) [--execute]",
		Short: "Move a group's committed offsets (the group must have no members)",
		Long: "reset-offsets commits new offsets for the group on the named topics (all\n" +
			"partitions, or those listed after a colon). Offsets are kept within each\n" +
			"partition's log. The group must be empty: stop its consumers first.\n" +
			"Without --execute it only prints the plan (as Kafka's tool does);\n" +
			"--execute commits it.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			chosen := 0
			for _, set := range []bool{f.toEarliest, f.toLatest, cmd.Flags().Changed("to-offset"), f.toDatetime != "", cmd.Flags().Changed("shift-by")} {
				if set {
					chosen++
				}
			}
			if chosen != 1 {
				return usagef("give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by")
			}
			if len(f.topics) == 0 {
				return usagef("--topic is required")
			}
			if f.execute && f.dryRun {
				return usagef("--execute and --dry-run exclude each other")
			}
			f.dryRun = !f.execute
			var at time.Time
			if f.toDatetime != "" {
				var err error
				if at, err = admin.ParseDatetime(f.toDatetime); err != nil {
					return usagef("--to-datetime %q: %v", f.toDatetime, err)
				}
			}
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			plan, err := resetOffsets(cmd.Context(), c, args[0], f, resetSpec(cmd, f, at))
			if err != nil {
				return err
			}
			if a.json() {
				return writeJSON(a.stdout, plan)
			}
			t := newTable(a.stdout, "TOPIC", "PARTITION", "PREVIOUS-OFFSET", "NEW-OFFSET")
			for _, p := range plan {
				prev := "-"
				if p.Previous >= 0 {
					prev = strconv.FormatInt(p.Previous, 10)
				}
				t.row(p.Topic, p.Partition, prev, p.New)
			}
			if err := t.flush(); err != nil {
				return err
			}
			if f.dryRun {
				fmt.Fprintln(a.stdout, "dry run: nothing committed (add --execute to commit these offsets)")
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&f.topics, "topic", nil, "topic, or topic:p,p,... for some partitions (repeatable)")
	fs.BoolVar(&f.toEarliest, "to-earliest", false, "reset to the log start")
	fs.BoolVar(&f.toLatest, "to-latest", false, "reset to the log end")
	fs.Int64Var(&f.toOffset, "to-offset", 0, "reset to this offset")
	fs.StringVar(&f.toDatetime, "to-datetime", "", "reset to the first record at or after this time (RFC 3339, e.g. 2026-01-02T15:04:05Z)")
	fs.Int64Var(&f.shiftBy, "shift-by", 0, "move the committed offsets by this many records (negative: back)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the plan without committing it (the default)")
	fs.BoolVar(&f.execute, "execute", false, "commit the new offsets (without it the plan is only printed)")
	return cmd
}

// resetSpec is the reset the flags ask for.
func resetSpec(cmd *cobra.Command, f resetFlags, at time.Time) admin.ResetSpec {
	switch {
	case f.toEarliest:
		return admin.ResetSpec{Target: admin.ToEarliest}
	case f.toLatest:
		return admin.ResetSpec{Target: admin.ToLatest}
	case cmd.Flags().Changed("to-offset"):
		return admin.ResetSpec{Target: admin.ToOffset, Offset: f.toOffset}
	case !at.IsZero():
		return admin.ResetSpec{Target: admin.ToDatetime, Time: at}
	default:
		return admin.ResetSpec{Target: admin.ShiftBy, Shift: f.shiftBy}
	}
}

// resetOffsets plans the reset and, unless --dry-run, commits it.
func resetOffsets(ctx context.Context, c *client.Client, group string, f resetFlags, spec admin.ResetSpec) ([]admin.ResetMove, error) {
	tps, err := resetPartitions(ctx, c, f.topics)
	if err != nil {
		return nil, err
	}
	plan, err := admin.PlanReset(ctx, c, group, tps, spec)
	if err != nil || f.dryRun {
		return plan, err
	}
	if err := admin.ApplyReset(ctx, c, group, plan); err != nil {
		return nil, err
	}
	return plan, nil
}

// resetPartitions expands --topic values: "t" is every partition of t,
// "t:0,2" those partitions.
func resetPartitions(ctx context.Context, c *client.Client, specs []string) ([]client.TopicPartition, error) {
	var out []client.TopicPartition
	for _, spec := range specs {
		topic, list, hasList := strings.Cut(spec, ":")
		var want []int32
		if hasList {
			for _, s := range strings.Split(list, ",") {
				p, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
				if err != nil || p < 0 {
					return nil, usagef("--topic %q: partition %q is not a partition number", spec, s)
				}
				want = append(want, int32(p))
			}
		}
		tps, err := admin.TopicPartitions(ctx, c, topic, want)
		if err != nil {
			return nil, err
		}
		out = append(out, tps...)
	}
	return out, nil
}

func (a *app) groupDelete() *cobra.Command {
	return &cobra.Command{
		Use:   "delete GROUP",
		Short: "Delete a group without members and its committed offsets",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			if err := c.DeleteGroup(cmd.Context(), args[0]); err != nil {
				return err
			}
			if a.json() {
				return writeJSON(a.stdout, map[string]string{"deleted": args[0]})
			}
			fmt.Fprintf(a.stdout, "deleted group %s\n", args[0])
			return nil
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
