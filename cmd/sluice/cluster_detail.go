package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/client/admin"
)

// clusterDetail is what `cluster status` shows beyond the summary: every
// partition's state and each node's own registration in the cluster.
type clusterDetail struct {
	PartitionStates []partitionRow           `json:"partition_states"`
	Registration    []admin.NodeRegistration `json:"registration"`
}

type partitionRow struct {
	Topic           string  `json:"topic"`
	Partition       int32   `json:"partition"`
	Leader          int32   `json:"leader"`
	LeaderEpoch     int32   `json:"leader_epoch"`
	Replicas        []int32 `json:"replicas"`
	ISR             []int32 `json:"isr"`
	UnderReplicated bool    `json:"under_replicated"`
}

func clusterDetails(ctx context.Context, m client.Metadata) clusterDetail {
	d := clusterDetail{PartitionStates: []partitionRow{}}
	for _, t := range m.Topics {
		for _, p := range t.Partitions {
			d.PartitionStates = append(d.PartitionStates, partitionRow{
				Topic: t.Name, Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch,
				Replicas: p.Replicas, ISR: p.ISR, UnderReplicated: len(p.ISR) < len(p.Replicas),
			})
		}
	}
	d.Registration = admin.Registrations(ctx, m)
	return d
}

// logDirState is the LOG DIR column of node: ok, offline, or ? when the
// node could not be asked.
func (d clusterDetail) logDirState(node int32) string {
	for _, r := range d.Registration {
		switch {
		case r.NodeID != node:
		case len(r.OfflineLogDirs) > 0:
			return "offline"
		case r.Reached:
			return "ok"
		default:
			return "?"
		}
	}
	return "?"
}

// writeClusterDetail prints the partition table and registration problems.
func writeClusterDetail(w io.Writer, d clusterDetail) error {
	for _, r := range d.Registration {
		if !r.Registered {
			fmt.Fprintf(w, "Node %d is not registered in the cluster: %s\n", r.NodeID, r.Problem)
		}
		for _, d := range r.OfflineLogDirs {
			fmt.Fprintf(w, "Node %d log dir %s is offline since %s: %s\n", r.NodeID, d.Dir, d.Since.Format(time.RFC3339), d.Error)
		}
	}
	if len(d.PartitionStates) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	t := newTable(w, "TOPIC", "PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "STATE")
	for _, p := range d.PartitionStates {
		state := "ok"
		switch {
		case p.Leader < 0:
			state = "offline"
		case p.UnderReplicated:
			state = "under-replicated"
		}
		t.row(p.Topic, p.Partition, p.Leader, p.LeaderEpoch, ids(p.Replicas), ids(p.ISR), state)
	}
	return t.flush()
}
