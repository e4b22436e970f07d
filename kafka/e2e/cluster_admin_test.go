package e2e

import (
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// TestDescribeClusterAndReassignments: DescribeCluster names the node at
// its Kafka address; with no move in progress ListPartitionReassignments
// is empty and cancelling one is NO_REASSIGNMENT_IN_PROGRESS.
func TestDescribeClusterAndReassignments(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	cl := newClient(t, c)
	createTopic(t, cl, "moves", 1, nil)

	dc, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if dc.ErrorCode != 0 || len(dc.Brokers) != 1 || dc.ClusterID == "" ||
		dc.Brokers[0].Host+":"+strconv.Itoa(int(dc.Brokers[0].Port)) != c.Kafka(0) {
		t.Fatalf("describe cluster: %+v", dc)
	}

	lr, err := kmsg.NewPtrListPartitionReassignmentsRequest().RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if lr.ErrorCode != 0 || len(lr.Topics) != 0 {
		t.Fatalf("list reassignments: %+v", lr)
	}
	ar := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	at := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	at.Topic = "moves"
	ap := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
	at.Partitions = append(at.Partitions, ap) // nil replicas: cancel
	ar.Topics = append(ar.Topics, at)
	resp, err := ar.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 85 {
		t.Fatalf("cancel without a move: code %d, want NO_REASSIGNMENT_IN_PROGRESS", code)
	}
}
