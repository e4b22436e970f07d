package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/client"
)

// nodeStatusTimeout bounds the GET /cluster of one node.
const nodeStatusTimeout = 3 * time.Second

// clusterDetail is what `cluster status` shows beyond the summary: every
// partition's state and each node's own registration in the cluster.
type clusterDetail struct {
	PartitionStates []partitionRow     `json:"partition_states"`
	Registration    []nodeRegistration `json:"registration"`
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

// nodeRegistration is a node's answer to GET /cluster (its membership
// status), or why it could not be asked.
type nodeRegistration struct {
	NodeID     int32  `json:"node_id"`
	Registered bool   `json:"registered"`
	Problem    string `json:"problem,omitempty"`
	// OfflineLogDirs are the node's log dirs taken offline by a disk
	// fault (its replicas are not served until it restarts).
	OfflineLogDirs []offlineLogDir `json:"offline_log_dirs,omitempty"`
	// reached: the node answered its status.
	reached bool
}

type offlineLogDir struct {
	Dir   string    `json:"dir"`
	Error string    `json:"error"`
	Since time.Time `json:"since"`
}

func clusterDetails(ctx context.Context, m client.Metadata) clusterDetail {
	d := clusterDetail{PartitionStates: []partitionRow{}, Registration: make([]nodeRegistration, len(m.Brokers))}
	for _, t := range m.Topics {
		for _, p := range t.Partitions {
			d.PartitionStates = append(d.PartitionStates, partitionRow{
				Topic: t.Name, Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch,
				Replicas: p.Replicas, ISR: p.ISR, UnderReplicated: len(p.ISR) < len(p.Replicas),
			})
		}
	}
	var wg sync.WaitGroup
	for i, b := range m.Brokers {
		wg.Go(func() { d.Registration[i] = nodeStatus(ctx, b) })
	}
	wg.Wait()
	return d
}

// nodeStatus asks node b's HTTP server for its registration.
func nodeStatus(ctx context.Context, b client.Broker) nodeRegistration {
	out := nodeRegistration{NodeID: b.NodeID}
	if b.HTTPAddress == "" {
		out.Problem = "no HTTP address advertised"
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, nodeStatusTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.HTTPAddress+"/cluster", nil)
	if err != nil {
		out.Problem = err.Error()
		return out
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		out.Problem = "status unavailable: " + err.Error()
		return out
	}
	defer resp.Body.Close()
	var body struct {
		Membership struct {
			Registered bool   `json:"registered"`
			Problem    string `json:"problem"`
		} `json:"membership"`
		LogDirs []struct {
			offlineLogDir
			Offline bool `json:"offline"`
		} `json:"log_dirs"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		out.Problem = fmt.Sprintf("status unreadable (HTTP %d): %v", resp.StatusCode, err)
		return out
	}
	if resp.StatusCode != http.StatusOK {
		out.Problem = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, body.Error)
		return out
	}
	out.Registered, out.Problem, out.reached = body.Membership.Registered, body.Membership.Problem, true
	for _, d := range body.LogDirs {
		if d.Offline {
			out.OfflineLogDirs = append(out.OfflineLogDirs, d.offlineLogDir)
		}
	}
	return out
}

// logDirState is the LOG DIR column of node: ok, offline, or ? when the
// node could not be asked.
func (d clusterDetail) logDirState(node int32) string {
	for _, r := range d.Registration {
		switch {
		case r.NodeID != node:
		case len(r.OfflineLogDirs) > 0:
			return "offline"
		case r.reached:
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
