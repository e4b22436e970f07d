package main

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
)

func (a *app) clusterCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Inspect the cluster"}
	var internal bool
	statusCmd := &cobra.Command{
		Use:   "status",
		Short: "Show nodes (live and down), the controller and partition health",
		Long: "status shows every node: the live ones and those that hold replicas but\n" +
			"are down, the controller, and each partition's leader and ISR. Internal\n" +
			"topics (__consumer_offsets, __transaction_state) are left out unless\n" +
			"--internal.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			m, err := c.Metadata(cmd.Context())
			if err != nil {
				return err
			}
			hidden := 0
			if !internal {
				m.Topics, hidden = withoutInternal(m.Topics)
			}
			st := clusterStatus(m)
			detail := clusterDetails(cmd.Context(), m)
			if a.json() {
				return writeJSON(a.stdout, struct {
					status
					clusterDetail
				}{st, detail})
			}
			fmt.Fprintf(a.stdout, "Cluster: %s  Controller: %d  Topics: %d  Partitions: %d  Under-replicated: %d  Offline: %d\n",
				st.ClusterID, st.ControllerID, st.Topics, st.Partitions, st.UnderReplicated, st.Offline)
			if hidden > 0 {
				fmt.Fprintf(a.stdout, "(%s not shown: --internal shows them)\n", plural(hidden, "internal topic"))
			}
			t := newTable(a.stdout, "NODE", "STATE", "ADDRESS", "HTTP", "LEADERS", "REPLICAS", "LOG DIR", "ROLE")
			for _, b := range st.Brokers {
				role, logDir, addr, http := "", "-", "-", "-"
				if b.NodeID == st.ControllerID {
					role = "controller"
				}
				if b.State == nodeUp {
					logDir, addr, http = detail.logDirState(b.NodeID), b.Address, b.HTTPAddress
				}
				t.row(b.NodeID, b.State, addr, http, b.Leaders, b.Replicas, logDir, role)
			}
			if err := t.flush(); err != nil {
				return err
			}
			return writeClusterDetail(a.stdout, detail)
		},
	}
	statusCmd.Flags().BoolVar(&internal, "internal", false, "include internal topics")
	cmd.AddCommand(statusCmd)
	return cmd
}

// withoutInternal returns topics without the internal ones, and how many
// were left out.
func withoutInternal(topics []client.TopicInfo) ([]client.TopicInfo, int) {
	out := make([]client.TopicInfo, 0, len(topics))
	for _, t := range topics {
		if !t.Internal {
			out = append(out, t)
		}
	}
	return out, len(topics) - len(out)
}

// The states of a node in `cluster status`.
const (
	nodeUp   = "up"
	nodeDown = "down" // holds replicas, but is not a live member
)

// status is the cluster summary of `cluster status`.
type status struct {
	ClusterID       string         `json:"cluster_id"`
	ControllerID    int32          `json:"controller_id"`
	Topics          int            `json:"topics"`
	Partitions      int            `json:"partitions"`
	UnderReplicated int            `json:"under_replicated_partitions"`
	Offline         int            `json:"offline_partitions"`
	Brokers         []brokerStatus `json:"brokers"`
}

type brokerStatus struct {
	client.Broker
	State    string `json:"state"`
	Leaders  int    `json:"leaders"`
	Replicas int    `json:"replicas"`
}

func clusterStatus(m client.Metadata) status {
	st := status{ClusterID: m.ClusterID, ControllerID: m.ControllerID, Topics: len(m.Topics), Brokers: []brokerStatus{}}
	idx := map[int32]int{}
	for _, b := range m.Brokers {
		idx[b.NodeID] = len(st.Brokers)
		st.Brokers = append(st.Brokers, brokerStatus{Broker: b, State: nodeUp})
	}
	// Nodes that hold replicas but are not live are down.
	for _, t := range m.Topics {
		for _, p := range t.Partitions {
			for _, r := range p.Replicas {
				if _, ok := idx[r]; !ok {
					idx[r] = len(st.Brokers)
					st.Brokers = append(st.Brokers, brokerStatus{Broker: client.Broker{NodeID: r}, State: nodeDown})
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
