package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client/admin"
)

func (a *app) clusterCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Inspect and balance the cluster"}
	cmd.AddCommand(a.clusterBalance())
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
				m.Topics, hidden = admin.WithoutInternal(m.Topics)
			}
			st := admin.Summarize(m)
			detail := clusterDetails(cmd.Context(), m)
			if a.json() {
				return writeJSON(a.stdout, struct {
					admin.Summary
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
				if b.State == admin.NodeUp {
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
