package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
)

func (a *app) clusterCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Inspect the cluster"}
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Show brokers, the controller and partition health",
		Args:  cobra.NoArgs,
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
			t := newTable(a.stdout, "NODE", "ADDRESS", "HTTP", "LEADERS", "REPLICAS", "LOG DIR", "ROLE")
			for _, b := range st.Brokers {
				role := ""
				if b.NodeID == st.ControllerID {
					role = "controller"
				}
				t.row(b.NodeID, b.Address, b.HTTPAddress, b.Leaders, b.Replicas, detail.logDirState(b.NodeID), role)
			}
			if err := t.flush(); err != nil {
				return err
			}
			return writeClusterDetail(a.stdout, detail)
		},
	})
	return cmd
}

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
	Leaders  int `json:"leaders"`
	Replicas int `json:"replicas"`
}

func clusterStatus(m client.Metadata) status {
	st := status{ClusterID: m.ClusterID, ControllerID: m.ControllerID, Topics: len(m.Topics), Brokers: []brokerStatus{}}
	idx := map[int32]int{}
	for _, b := range m.Brokers {
		idx[b.NodeID] = len(st.Brokers)
		st.Brokers = append(st.Brokers, brokerStatus{Broker: b})
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
