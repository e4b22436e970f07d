package txn

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/controller"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

func markersOf(ms []Marker, pid int64) []string {
	var out []string
	for _, m := range ms {
		if m.ProducerID == pid {
			out = append(out, fmt.Sprintf("%s/%d e%d commit=%v c%d", m.Topic, m.Partition, m.ProducerEpoch, m.Commit, m.CoordinatorEpoch))
		}
	}
	slices.Sort(out)
	return out
}

func TestTxnCoordinatorCommit(t *testing.T) {
	h := newHarness(t, nil)
	f := call[*messages.FindCoordinatorResponse](h, &messages.FindCoordinatorRequest{GroupId: "etl", KeyType: messages.CoordinatorKeyType_TRANSACTION})
	if f.ErrorCode != messages.ErrorCode_NONE || f.NodeId != 1 || f.Address != h.system.Address() {
		t.Fatalf("find coordinator %v", f)
	}
	r := h.init("etl", 10*time.Second, -1, -1)
	if r.ErrorCode != messages.ErrorCode_NONE || r.ProducerId != 5001 || r.ProducerEpoch != 0 {
		t.Fatalf("init %v", r)
	}
	if a := h.add("etl", r.ProducerId, r.ProducerEpoch, "out", 0, 1); a.ErrorCode != messages.ErrorCode_NONE ||
		len(a.Topics) != 1 || len(a.Topics[0].Partitions) != 2 || a.Topics[0].Partitions[1].ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("add partitions %v", a)
	}
	o := call[*messages.AddOffsetsToTxnResponse](h, &messages.AddOffsetsToTxnRequest{
		TransactionalId: "etl", ProducerId: r.ProducerId, ProducerEpoch: r.ProducerEpoch, GroupId: "g"})
	if o.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("add offsets %v", o)
	}
	d := h.describe("etl")
	if d.TransactionState != "Ongoing" || d.TransactionTimeoutMs != 10000 || d.TransactionStartTimeMs <= 0 || len(d.Topics) != 2 {
		t.Fatalf("describe ongoing %v", d)
	}
	if len(h.markers.all()) != 0 {
		t.Fatal("markers before the end")
	}
	if c := h.end("etl", r.ProducerId, r.ProducerEpoch, true); c != messages.ErrorCode_NONE {
		t.Fatalf("end %s", c)
	}
	h.waitState("etl", "CompleteCommit")
	want := []string{"__consumer_offsets/0 e0 commit=true c0", "out/0 e0 commit=true c0", "out/1 e0 commit=true c0"}
	if got := markersOf(h.markers.all(), r.ProducerId); !reflect.DeepEqual(got, want) {
		t.Fatalf("markers %v, want %v", got, want)
	}
	if p := group.OffsetsPartition("g", 1); p != 0 {
		t.Fatalf("offsets partition %d", p)
	}
	// A retried commit succeeds; the next transaction starts.
	if c := h.end("etl", r.ProducerId, r.ProducerEpoch, true); c != messages.ErrorCode_NONE {
		t.Fatalf("retried end %s", c)
	}
	if c := h.end("etl", r.ProducerId, r.ProducerEpoch, false); c != messages.ErrorCode_INVALID_TXN_STATE {
		t.Fatalf("abort after commit %s", c)
	}
}

func TestTxnCoordinatorFencesZombie(t *testing.T) {
	h := newHarness(t, nil)
	a := h.init("etl", 10*time.Second, -1, -1)
	if r := h.add("etl", a.ProducerId, a.ProducerEpoch, "out", 0); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("add %v", r)
	}
	// The second instance waits (CONCURRENT_TRANSACTIONS) while the first
	// one's transaction is aborted, then gets a bumped epoch.
	b := h.init("etl", 10*time.Second, -1, -1)
	if b.ErrorCode != messages.ErrorCode_NONE || b.ProducerId != a.ProducerId || b.ProducerEpoch != a.ProducerEpoch+2 {
		t.Fatalf("second instance %v, first %v", b, a)
	}
	want := []string{fmt.Sprintf("out/0 e%d commit=false c0", a.ProducerEpoch+1)}
	if got := markersOf(h.markers.all(), a.ProducerId); !reflect.DeepEqual(got, want) {
		t.Fatalf("markers %v, want %v", got, want)
	}
	// The zombie is fenced everywhere.
	if c := h.end("etl", a.ProducerId, a.ProducerEpoch, true); c != messages.ErrorCode_PRODUCER_FENCED {
		t.Fatalf("zombie commit %s", c)
	}
	if r := h.add("etl", a.ProducerId, a.ProducerEpoch, "out", 1); r.ErrorCode != messages.ErrorCode_PRODUCER_FENCED ||
		r.Topics[0].Partitions[0].ErrorCode != messages.ErrorCode_PRODUCER_FENCED {
		t.Fatalf("zombie add %v", r)
	}
	if r := h.add("etl", b.ProducerId, b.ProducerEpoch, "out", 1); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("new instance add %v", r)
	}
}

func TestTxnCoordinatorFinishesCommitAfterRestart(t *testing.T) {
	h := newHarness(t, nil)
	r := h.init("etl", time.Minute, -1, -1)
	h.add("etl", r.ProducerId, r.ProducerEpoch, "out", 0, 1)
	// The markers cannot be written: the commit is decided (answered) but
	// stays PrepareCommit.
	h.markers.setFailing(true)
	if c := h.end("etl", r.ProducerId, r.ProducerEpoch, true); c != messages.ErrorCode_NONE {
		t.Fatalf("end %s", c)
	}
	if d := h.describe("etl"); d.TransactionState != "PrepareCommit" {
		t.Fatalf("state %s", d.TransactionState)
	}
	// The coordinator's node restarts; no client asks anything. The new
	// coordinator finds the decided transaction and completes it.
	h.restart()
	h.markers.setFailing(false)
	waitFor(t, requestTimeout, func() error {
		if got := markersOf(h.markers.all(), r.ProducerId); len(got) != 2 {
			return fmt.Errorf("markers %v", got)
		}
		return nil
	})
	h.waitState("etl", "CompleteCommit")
	// The producer's retried EndTxn succeeds.
	if c := h.end("etl", r.ProducerId, r.ProducerEpoch, true); c != messages.ErrorCode_NONE {
		t.Fatalf("retried end %s", c)
	}
}

func TestTxnCoordinatorStateSurvivesRestart(t *testing.T) {
	h := newHarness(t, nil)
	r := h.init("etl", time.Minute, -1, -1)
	h.add("etl", r.ProducerId, r.ProducerEpoch, "out", 1)
	h.restart()
	d := h.waitState("etl", "Ongoing")
	if d.ProducerId != r.ProducerId || d.ProducerEpoch != r.ProducerEpoch || len(d.Topics) != 1 || d.Topics[0].Partitions[0] != 1 {
		t.Fatalf("after restart %v", d)
	}
	// The session goes on.
	if c := h.end("etl", r.ProducerId, r.ProducerEpoch, false); c != messages.ErrorCode_NONE {
		t.Fatalf("abort %s", c)
	}
	h.waitState("etl", "CompleteAbort")
}

func TestTxnCoordinatorTimeoutAborts(t *testing.T) {
	h := newHarness(t, nil)
	r := h.init("etl", 300*time.Millisecond, -1, -1)
	h.add("etl", r.ProducerId, r.ProducerEpoch, "out", 0)
	// The producer goes silent; the coordinator aborts and fences it.
	d := h.waitState("etl", "CompleteAbort")
	if d.ProducerEpoch != r.ProducerEpoch+1 {
		t.Fatalf("after timeout %v", d)
	}
	want := []string{fmt.Sprintf("out/0 e%d commit=false c0", r.ProducerEpoch+1)}
	if got := markersOf(h.markers.all(), r.ProducerId); !reflect.DeepEqual(got, want) {
		t.Fatalf("markers %v", got)
	}
	if c := h.end("etl", r.ProducerId, r.ProducerEpoch, true); c != messages.ErrorCode_PRODUCER_FENCED {
		t.Fatalf("late commit %s", c)
	}
}

func TestTxnCoordinatorRefusals(t *testing.T) {
	h := newHarness(t, nil)
	r := h.init("etl", time.Minute, -1, -1)
	// Unknown partitions: those UNKNOWN_TOPIC_OR_PARTITION, the others not
	// attempted.
	a := call[*messages.AddPartitionsToTxnResponse](h, &messages.AddPartitionsToTxnRequest{
		TransactionalId: "etl", ProducerId: r.ProducerId, ProducerEpoch: r.ProducerEpoch,
		Topics: []*messages.AddPartitionsToTxnTopic{{Name: "out", Partitions: []int32{0, 9}}, {Name: "nope", Partitions: []int32{0}}},
	})
	codes := []messages.ErrorCode{a.Topics[0].Partitions[0].ErrorCode, a.Topics[0].Partitions[1].ErrorCode, a.Topics[1].Partitions[0].ErrorCode}
	if a.ErrorCode != messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION || !reflect.DeepEqual(codes, []messages.ErrorCode{
		messages.ErrorCode_OPERATION_NOT_ATTEMPTED, messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION}) {
		t.Fatalf("unknown partitions %v", a)
	}
	if i := h.init("etl", time.Hour, -1, -1); i.ErrorCode != messages.ErrorCode_INVALID_TRANSACTION_TIMEOUT {
		t.Fatalf("timeout too long %v", i)
	}
	waitFor(t, requestTimeout, func() error {
		if c := h.end("other", 1, 0, true); c != messages.ErrorCode_INVALID_PRODUCER_ID_MAPPING {
			return fmt.Errorf("unknown id: %s", c)
		}
		return nil
	})
	if d := h.describe("other"); d.ErrorCode != messages.ErrorCode_TRANSACTIONAL_ID_NOT_FOUND {
		t.Fatalf("describe unknown %v", d)
	}
	// Another node leads the partition now.
	h.setView(func(v *controller.ClusterView) {
		v.Snapshot.States[metadata.TopicPartition{Topic: messages.TransactionStateTopic, Partition: 0}] = metadata.PartitionState{Leader: 2, LeaderEpoch: 1}
	})
	waitFor(t, requestTimeout, func() error {
		if c := h.end("etl", r.ProducerId, r.ProducerEpoch, true); c != messages.ErrorCode_NOT_COORDINATOR {
			return fmt.Errorf("end on a follower: %s", c)
		}
		return nil
	})
	if d := h.describe("etl"); d.ErrorCode != messages.ErrorCode_NOT_COORDINATOR {
		t.Fatalf("describe on a follower %v", d)
	}
}

func TestTxnCoordinatorList(t *testing.T) {
	h := newHarness(t, nil)
	a := h.init("a", time.Minute, -1, -1)
	b := h.init("b", time.Minute, -1, -1)
	h.add("b", b.ProducerId, b.ProducerEpoch, "out", 0)
	list := func(req *messages.ListTransactionsRequest) []string {
		resp := call[*messages.ListTransactionsResponse](h, req)
		if resp.ErrorCode != messages.ErrorCode_NONE {
			t.Fatalf("list %v", resp)
		}
		var out []string
		for _, s := range resp.TransactionStates {
			out = append(out, fmt.Sprintf("%s:%d:%s", s.TransactionalId, s.ProducerId, s.TransactionState))
		}
		return out
	}
	all := []string{fmt.Sprintf("a:%d:Empty", a.ProducerId), fmt.Sprintf("b:%d:Ongoing", b.ProducerId)}
	if got := list(&messages.ListTransactionsRequest{}); !reflect.DeepEqual(got, all) {
		t.Fatalf("list %v", got)
	}
	if got := list(&messages.ListTransactionsRequest{StateFilters: []string{"Ongoing"}}); !reflect.DeepEqual(got, all[1:]) {
		t.Fatalf("list ongoing %v", got)
	}
	if got := list(&messages.ListTransactionsRequest{ProducerIdFilters: []int64{a.ProducerId}}); !reflect.DeepEqual(got, all[:1]) {
		t.Fatalf("list by producer %v", got)
	}
	if got := list(&messages.ListTransactionsRequest{DurationFilterMs: int64(time.Hour / time.Millisecond)}); len(got) != 0 {
		t.Fatalf("list long-running %v", got)
	}
	resp := call[*messages.ListTransactionsResponse](h, &messages.ListTransactionsRequest{StateFilters: []string{"Bogus"}})
	if !reflect.DeepEqual(resp.UnknownStateFilters, []string{"Bogus"}) || len(resp.TransactionStates) != 0 {
		t.Fatalf("unknown filter %v", resp)
	}
}

// TestTxnCoordinatorWritesMarkersToLeaders runs a transaction against real
// data replicas: the producer's transactional batches, then the
// coordinator's COMMIT markers from the default LeaderMarkers.
func TestTxnCoordinatorWritesMarkersToLeaders(t *testing.T) {
	h := startHarness(t, true, nil)
	r := h.init("etl", time.Minute, -1, -1)
	h.add("etl", r.ProducerId, r.ProducerEpoch, "out", 0, 1)
	for p := range int32(2) {
		b := batch.NewBuilder(batch.EncodeOptions{ProducerID: r.ProducerId, ProducerEpoch: int16(r.ProducerEpoch), BaseSequence: 0,
			Transactional: true, PartitionLeaderEpoch: -1})
		b.Append(time.Now().UnixMilli(), []byte("k"), []byte("v"), nil)
		buf, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		pr := callPID[*messages.ProduceResponse](h, h.replicaPID("out", p), &messages.ProduceRequest{Topic: "out", Partition: p, Acks: -1, TimeoutMs: 5000, Records: buf, LeaderEpoch: -1})
		if pr.ErrorCode != messages.ErrorCode_NONE {
			t.Fatalf("produce to out/%d: %v", p, pr)
		}
	}
	if c := h.end("etl", r.ProducerId, r.ProducerEpoch, true); c != messages.ErrorCode_NONE {
		t.Fatalf("end %s", c)
	}
	h.waitState("etl", "CompleteCommit")
	for p := range int32(2) {
		f := callPID[*messages.FetchResponse](h, h.replicaPID("out", p), &messages.FetchRequest{Topic: "out", Partition: p, Offset: 0, MaxBytes: 1 << 20, LeaderEpoch: -1})
		var kinds []string
		for buf := f.Records; len(buf) > 0; {
			hd, b, rest, err := batch.Next(buf)
			if err != nil {
				t.Fatal(err)
			}
			buf = rest
			if !hd.Attributes.Control() {
				kinds = append(kinds, "data")
				continue
			}
			if err := batch.ForEach(b, func(rec batch.Record) error {
				ct, epoch, err := batch.ParseControl(rec)
				kinds = append(kinds, fmt.Sprintf("%s c%d p%d", ct, epoch, hd.ProducerID))
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		if want := []string{"data", fmt.Sprintf("commit c0 p%d", r.ProducerId)}; !reflect.DeepEqual(kinds, want) {
			t.Fatalf("out/%d holds %v, want %v", p, kinds, want)
		}
	}
}

func TestTxnHostCreatesStateTopicOnDemand(t *testing.T) {
	var created []*messages.CreateTopicRequest
	var mu sync.Mutex
	h := newHarness(t, nil)
	h.createTopic = func(_ context.Context, req *messages.CreateTopicRequest) *messages.CreateTopicResponse {
		mu.Lock()
		defer mu.Unlock()
		created = append(created, req)
		return &messages.CreateTopicResponse{}
	}
	h.restart()
	h.setView(func(v *controller.ClusterView) {
		delete(v.Snapshot.Topics, messages.TransactionStateTopic)
		v.Members = append(v.Members, cluster.Member{NodeID: 2, Address: "127.0.0.1:1"}, cluster.Member{NodeID: 3, Address: "127.0.0.1:2"})
	})
	f := call[*messages.FindCoordinatorResponse](h, &messages.FindCoordinatorRequest{GroupId: "etl", KeyType: messages.CoordinatorKeyType_TRANSACTION})
	if f.ErrorCode != messages.ErrorCode_COORDINATOR_NOT_AVAILABLE {
		t.Fatalf("find coordinator without the topic: %v", f)
	}
	waitFor(t, requestTimeout, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(created) == 0 {
			return fmt.Errorf("no CreateTopic call")
		}
		return nil
	})
	mu.Lock()
	req := created[0]
	mu.Unlock()
	if req.Name != messages.TransactionStateTopic || req.Partitions != 50 || req.ReplicationFactor != 3 ||
		req.Configs[metadata.ConfigCleanupPolicy] != metadata.CleanupCompact || req.Configs[metadata.ConfigMinInsyncReplicas] != "2" {
		t.Fatalf("create request: %v", req)
	}
	if r := h.init("etl", time.Minute, -1, -1); r.ErrorCode != messages.ErrorCode_COORDINATOR_NOT_AVAILABLE {
		t.Fatalf("init without the topic: %v", r)
	}
}
