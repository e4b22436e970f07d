package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/client"
)

// nodeStatusTimeout bounds the GET /cluster of one node.
const nodeStatusTimeout = 3 * time.Second

// Summary is the cluster at a glance: counts, and each node's share of
// leaders and replicas.
type Summary struct {
	ClusterID       string          `json:"cluster_id"`
	ControllerID    int32           `json:"controller_id"`
	Topics          int             `json:"topics"`
	Partitions      int             `json:"partitions"`
	UnderReplicated int             `json:"under_replicated_partitions"`
	Offline         int             `json:"offline_partitions"`
	Brokers         []BrokerSummary `json:"brokers"`
}

// The states of a node in a Summary.
const (
	NodeUp   = "up"
	NodeDown = "down" // holds replicas, but is not a live member
)

// BrokerSummary is one node, live or down, and the partitions it leads
// and holds.
type BrokerSummary struct {
	client.Broker
	State    string `json:"state"`
	Leaders  int    `json:"leaders"`
	Replicas int    `json:"replicas"`
}

// Summarize counts m's partitions per node and by health. Nodes that hold
// replicas but are not live members are listed as down; nodes are sorted
// by id.
func Summarize(m client.Metadata) Summary {
	st := Summary{ClusterID: m.ClusterID, ControllerID: m.ControllerID, Topics: len(m.Topics), Brokers: []BrokerSummary{}}
	idx := map[int32]int{}
	for _, b := range m.Brokers {
		idx[b.NodeID] = len(st.Brokers)
		st.Brokers = append(st.Brokers, BrokerSummary{Broker: b, State: NodeUp})
	}
	for _, t := range m.Topics {
		for _, p := range t.Partitions {
			for _, r := range p.Replicas {
				if _, ok := idx[r]; !ok {
					idx[r] = len(st.Brokers)
					st.Brokers = append(st.Brokers, BrokerSummary{Broker: client.Broker{NodeID: r}, State: NodeDown})
				}
			}
		}
	}
	sort.Slice(st.Brokers, func(i, j int) bool { return st.Brokers[i].NodeID < st.Brokers[j].NodeID })
	for i, b := range st.Brokers {
		idx[b.NodeID] = i
	}
	for _, t := range m.Topics {
		for _, p := range t.Partitions {
			st.Partitions++
			if p.Leader < 0 {
				st.Offline++
			} else if i, ok := idx[p.Leader]; ok {
				st.Brokers[i].Leaders++
			}
			if len(p.ISR) < len(p.Replicas) {
				st.UnderReplicated++
			}
			for _, r := range p.Replicas {
				if i, ok := idx[r]; ok {
					st.Brokers[i].Replicas++
				}
			}
		}
	}
	return st
}

// WithoutInternal returns topics without the internal ones
// (__consumer_offsets, __transaction_state), and how many were left out.
func WithoutInternal(topics []client.TopicInfo) ([]client.TopicInfo, int) {
	out := make([]client.TopicInfo, 0, len(topics))
	for _, t := range topics {
		if !t.Internal {
			out = append(out, t)
		}
	}
	return out, len(topics) - len(out)
}

// NodeRegistration is a node's answer to GET /cluster (its membership
// status and offline log dirs), or why it could not be asked.
type NodeRegistration struct {
	NodeID     int32  `json:"node_id"`
	Registered bool   `json:"registered"`
	Problem    string `json:"problem,omitempty"`
	// OfflineLogDirs are the node's log dirs taken offline by a disk
	// fault (its replicas are not served until it restarts).
	OfflineLogDirs []OfflineLogDir `json:"offline_log_dirs,omitempty"`
	// Reached: the node answered its status.
	Reached bool `json:"reached"`
}

// OfflineLogDir is a log dir a disk fault took offline.
type OfflineLogDir struct {
	Dir   string    `json:"dir"`
	Error string    `json:"error"`
	Since time.Time `json:"since"`
}

// Registrations asks every broker of m for its registration, concurrently.
func Registrations(ctx context.Context, m client.Metadata) []NodeRegistration {
	out := make([]NodeRegistration, len(m.Brokers))
	var wg sync.WaitGroup
	for i, b := range m.Brokers {
		wg.Go(func() { out[i] = NodeStatus(ctx, b) })
	}
	wg.Wait()
	return out
}

// NodeStatus asks node b's admin HTTP server for its registration.
func NodeStatus(ctx context.Context, b client.Broker) NodeRegistration {
	out := NodeRegistration{NodeID: b.NodeID}
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
			OfflineLogDir
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
	out.Registered, out.Problem, out.Reached = body.Membership.Registered, body.Membership.Problem, true
	for _, d := range body.LogDirs {
		if d.Offline {
			out.OfflineLogDirs = append(out.OfflineLogDirs, d.OfflineLogDir)
		}
	}
	return out
}
