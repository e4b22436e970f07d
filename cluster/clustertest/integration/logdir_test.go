package integration

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/cluster/clustertest/workload"
	"github.com/sluice-mq/sluice/messages"
)

// TestLogDirFailureMovesLeadership injects an fsync error, then a write
// error, into the log dir of a partition leader under an acks=all load:
// each time the node takes its log dir offline, the controller moves its
// leaderships to other ISR members and drops it from the ISRs while the
// node is still a live member (so well within the session timeout, which
// never expires), the node keeps answering /healthz, metadata and admin
// requests and reports the offline dir, and after a restart it recovers
// its logs and rejoins every ISR. No acknowledged record is lost.
func TestLogDirFailureMovesLeadership(t *testing.T) {
	const topic, parts = "diskfault", 3
	e := startEnv(t, clustertest.FaultFlags()...)
	_, err := e.cl.CreateTopic(e.ctx(), topic, parts, 3, map[string]string{
		"min.insync.replicas": "2",
		"flush.policy":        "always", // every produce fsyncs on the leader
	})
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	e.waitInSync(topic)
	w := workload.Start(t, e.cl, topic, parts, "df")
	w.WaitProgress(t, 100, waitTimeout)

	for round, fault := range []clustertest.Fault{
		{Op: "sync", Pattern: "*.log", Errno: "EIO"},
		{Op: "write", Pattern: "*.log", Errno: "EIO"},
	} {
		p := int32(round)
		leader := e.leaderOf(topic, p)
		i := e.index(leader.Leader)
		t.Logf("round %d: %s error on node %d, leader of %s/%d in epoch %d", round, fault.Op, leader.Leader, topic, p, leader.LeaderEpoch)
		start := time.Now()
		e.c.InjectFault(i, fault)
		e.waitOffline(topic, leader.Leader)
		t.Logf("round %d: leaderships and ISR membership of node %d moved after %s", round, leader.Leader, time.Since(start).Round(time.Millisecond))
		if now := e.leaderOf(topic, p); now.LeaderEpoch <= leader.LeaderEpoch {
			t.Fatalf("%s/%d: new leader %d in epoch %d, not after %d", topic, p, now.Leader, now.LeaderEpoch, leader.LeaderEpoch)
		}
		e.checkOfflineNodeServes(i, leader.Leader)
		w.WaitProgress(t, 100, waitTimeout) // acks=all goes on with the other two
		e.c.Restart(i)
		e.waitInSync(topic)
		if st, err := e.clusterStatus(i); err != nil || len(st.LogDirs) != 1 || st.LogDirs[0].Offline {
			t.Fatalf("restarted node %d log dirs %+v, %v; want online", leader.Leader, st.LogDirs, err)
		}
		w.WaitProgress(t, 50, waitTimeout)
	}
	acks, failed := w.Finish(t)
	t.Logf("%d records acknowledged, %d failed", len(acks), len(failed))
	e.verify(topic, parts, acks)
}

// waitOffline waits until node leads no partition of topic and is in no
// ISR, while it is still a live member: the controller acted on its
// offline log dir, not on a lost session.
func (e *env) waitOffline(topic string, node int32) {
	e.t.Helper()
	e.waitFor(fmt.Sprintf("node %d out of the leaders and ISRs of %s", node, topic), func() error {
		md, err := e.metadata()
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(md.Brokers, func(b client.Broker) bool { return b.NodeID == node }) {
			e.t.Fatalf("node %d left the members: its session expired instead of its log dir being taken offline", node)
		}
		for _, t := range md.Topics {
			if t.Name != topic {
				continue
			}
			for _, p := range t.Partitions {
				if p.Leader < 0 || p.Leader == node || slices.Contains(p.ISR, node) {
					return fmt.Errorf("partition %d: leader %d isr %v", p.Partition, p.Leader, p.ISR)
				}
			}
			return nil
		}
		return fmt.Errorf("no topic %s", topic)
	})
}

// checkOfflineNodeServes checks that node (index i), its log dir offline,
// still answers /healthz (with a warning), /cluster (the offline dir),
// metadata and admin requests, that new topics avoid it, and that the CLI
// shows its offline dir.
func (e *env) checkOfflineNodeServes(i int, node int32) {
	e.t.Helper()
	code, body, err := e.healthz(i)
	if err != nil || code != http.StatusOK || !strings.Contains(body, "warning: log dir") {
		e.t.Fatalf("node %d /healthz = %d %q, %v; want 200 with the offline dir warning", node, code, body, err)
	}
	st, err := e.clusterStatus(i)
	if err != nil || len(st.LogDirs) != 1 || !st.LogDirs[0].Offline || st.LogDirs[0].Dir != e.c.DataDir(i) {
		e.t.Fatalf("node %d /cluster log dirs %+v, %v", node, st.LogDirs, err)
	}
	if _, body, err := e.c.HTTPGet(i, "/metrics"); err != nil || !strings.Contains(body, "sluice_log_dir_offline{") || !strings.Contains(body, "} 1") {
		e.t.Fatalf("node %d /metrics lacks sluice_log_dir_offline 1 (%v)", node, err)
	}
	cl := clustertest.NewClient(e.t)
	md := clustertest.Request[*messages.MetadataResponse](e.t, cl, e.c.NodePID(i), &messages.MetadataRequest{})
	if len(md.Brokers) != 3 {
		e.t.Fatalf("metadata from node %d: brokers %v", node, md.Brokers)
	}
	name := fmt.Sprintf("created-while-%d-offline", node)
	resp := clustertest.Request[*messages.CreateTopicResponse](e.t, cl, e.c.NodePID(i), &messages.CreateTopicRequest{
		Name: name, Partitions: 2, ReplicationFactor: 2,
	})
	if resp.ErrorCode != messages.ErrorCode_NONE {
		e.t.Fatalf("create topic via node %d: %v %s", node, resp.ErrorCode, resp.ErrorMessage)
	}
	e.waitFor("the new topic's metadata", func() error {
		md, err := e.metadata()
		if err != nil {
			return err
		}
		for _, t := range md.Topics {
			if t.Name == name {
				for _, p := range t.Partitions {
					if slices.Contains(p.Replicas, node) {
						e.t.Fatalf("%s/%d placed on node %d with an offline log dir: %v", name, p.Partition, node, p.Replicas)
					}
				}
				return nil
			}
		}
		return fmt.Errorf("no topic %s yet", name)
	})
	out, err := e.sluice("cluster", "status")
	if err != nil || !strings.Contains(out, fmt.Sprintf("Node %d log dir %s is offline", node, e.c.DataDir(i))) {
		e.t.Fatalf("sluice cluster status (%v):\n%s\nwant node %d's offline log dir", err, out, node)
	}
}
