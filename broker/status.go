package broker

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// ClusterStatus is what GET /cluster returns: this node's view of the
// cluster and its own registration, for `sluice cluster status` and
// operators.
type ClusterStatus struct {
	NodeID       int32            `json:"node_id"`
	Address      string           `json:"address"`
	Clustered    bool             `json:"clustered"`
	ControllerID int32            `json:"controller_id"`
	Membership   MembershipStatus `json:"membership"`
	Brokers      []BrokerStatus   `json:"brokers"`
	Partitions   []PartitionInfo  `json:"partitions"`
	// UnderReplicated and Offline count partitions whose ISR is smaller
	// than their replica set, and those without a live leader.
	UnderReplicated int `json:"under_replicated"`
	Offline         int `json:"offline"`
	// LogDirs is this node's log directory and whether it is offline.
	LogDirs []LogDirStatus `json:"log_dirs"`
}

// BrokerStatus is one live member.
type BrokerStatus struct {
	NodeID      int32  `json:"node_id"`
	Address     string `json:"address"`
	HTTPAddress string `json:"http_address"`
}

// PartitionInfo is one partition's metadata state.
type PartitionInfo struct {
	Topic           string  `json:"topic"`
	Partition       int32   `json:"partition"`
	Leader          int32   `json:"leader"`
	LeaderEpoch     int32   `json:"leader_epoch"`
	Replicas        []int32 `json:"replicas"`
	ISR             []int32 `json:"isr"`
	UnderReplicated bool    `json:"under_replicated"`
}

// statusTimeout bounds the guardian's answer to a status request.
const statusTimeout = 5 * time.Second

// ClusterStatus asks the node guardian for its view of the cluster.
func (s *Server) ClusterStatus() (ClusterStatus, error) {
	st := ClusterStatus{
		NodeID:     s.cfg.NodeID,
		Address:    s.system.Address(),
		Clustered:  s.cfg.Clustered(),
		Membership: s.MembershipStatus(),
		Brokers:    []BrokerStatus{},
		Partitions: []PartitionInfo{},
		LogDirs:    s.logDirStatus(),
	}
	res, err := s.system.Root.RequestFuture(s.guardian, &messages.MetadataRequest{}, statusTimeout).Result()
	if err != nil {
		return st, fmt.Errorf("broker: ask node guardian: %w", err)
	}
	md, ok := res.(*messages.MetadataResponse)
	if !ok {
		return st, fmt.Errorf("broker: node guardian answered %T", res)
	}
	st.ControllerID = md.ControllerId
	for _, b := range md.Brokers {
		st.Brokers = append(st.Brokers, BrokerStatus{NodeID: b.NodeId, Address: b.Address, HTTPAddress: b.HttpAddress})
	}
	for _, t := range md.Topics {
		for _, p := range t.Partitions {
			info := PartitionInfo{
				Topic: t.Name, Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch,
				Replicas: p.Replicas, ISR: p.Isr, UnderReplicated: len(p.Isr) < len(p.Replicas),
			}
			if info.UnderReplicated {
				st.UnderReplicated++
			}
			if info.Leader < 0 {
				st.Offline++
			}
			st.Partitions = append(st.Partitions, info)
		}
	}
	return st, nil
}

// handleCluster serves GET /cluster as JSON.
func (s *Server) handleCluster(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !s.healthy.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "node not serving"})
		return
	}
	st, err := s.ClusterStatus()
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(st)
}

// healthText is the body of a 200 /healthz: "ok", plus a warning line
// while the node is not registered in the cluster (it keeps serving the
// partitions it leads, but other nodes may consider it gone) and one per
// offline log dir (the node serves everything but its replicas).
func (s *Server) healthText() string {
	ms := s.MembershipStatus()
	text := "ok\n"
	if !ms.Registered {
		text += fmt.Sprintf("warning: not registered in the cluster since %s: %s\n",
			ms.Since.UTC().Format(time.RFC3339), ms.Problem)
	}
	return text + s.logDirWarnings()
}
