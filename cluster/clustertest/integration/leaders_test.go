package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest/workload"
)

// Kafka's error code of a partition whose preferred replica already leads.
const errElectionNotNeeded = 84

// waitPreferredLeaders waits until every partition of topic is led by its
// preferred replica (the first of its replica list) and returns the
// leader epochs.
func (e *env) waitPreferredLeaders(topic string) map[int32]int32 {
	e.t.Helper()
	epochs := map[int32]int32{}
	e.waitFor("every partition of "+topic+" led by its preferred replica", func() error {
		md, err := e.metadata()
		if err != nil {
			return err
		}
		for _, t := range md.Topics {
			if t.Name != topic {
				continue
			}
			for _, p := range t.Partitions {
				if len(p.Replicas) == 0 || p.Leader != p.Replicas[0] {
					return fmt.Errorf("partition %d: leader %d, replicas %v, isr %v", p.Partition, p.Leader, p.Replicas, p.ISR)
				}
				epochs[p.Partition] = p.LeaderEpoch
			}
			return nil
		}
		return fmt.Errorf("no topic %s", topic)
	})
	return epochs
}

// After a leader is SIGKILLed and comes back, the controller's imbalance
// check (every second here) hands its preferred partitions back to it in
// new epochs, once it is in sync again.
func TestClusterLeaderBalanceAfterFailover(t *testing.T) {
	e := startEnv(t, "--leader-imbalance-check-interval", "1s")
	const name = topic // produceEach's
	if _, err := e.cl.CreateTopic(e.ctx(), name, partitions, 3, map[string]string{"min.insync.replicas": "2"}); err != nil {
		t.Fatal(err)
	}
	e.waitInSync(name)
	before := e.waitPreferredLeaders(name)
	victim := e.leaderOf(name, 0).Leader
	i := e.index(victim)
	e.c.Kill(i)
	e.waitLeadersOff(name, victim)
	acks := produceEach(t, e, "while-down")
	e.c.StartNode(i)
	after := e.waitPreferredLeaders(name)
	for p, epoch := range before {
		info, err := e.partition(name, p)
		if err != nil {
			t.Fatalf("%s/%d: %v", name, p, err)
		}
		if info.Replicas[0] == victim && after[p] < epoch+2 {
			t.Errorf("%s/%d: back on node %d in epoch %d, want at least two elections after epoch %d", name, p, victim, after[p], epoch)
		}
	}
	e.verify(name, partitions, acks)
}

// SIGTERM of a partition leader under acks=all load: the node hands its
// leaderships to other in-sync replicas and leaves the ISRs before it
// stops, so the producer sees no error, and every acknowledged record is
// there afterwards.
func TestClusterControlledShutdownUnderLoad(t *testing.T) {
	e := startEnv(t, "--auto-leader-rebalance=false")
	const name = "drained"
	const parts = 6
	if _, err := e.cl.CreateTopic(e.ctx(), name, parts, 3, map[string]string{"min.insync.replicas": "2"}); err != nil {
		t.Fatal(err)
	}
	e.waitInSync(name)
	l := workload.Start(t, e.cl, name, parts, "sigterm")
	l.WaitProgress(t, 100, waitTimeout)
	for round, p := range []int32{0, 1} {
		leader := e.leaderOf(name, p)
		i := e.index(leader.Leader)
		t.Logf("round %d: SIGTERM to node %d, leader of %s/%d", round, leader.Leader, name, p)
		probe := e.probeLatency(t, name, p)
		if err := e.c.Stop(i); err != nil {
			t.Fatalf("stop node %d: %v", leader.Leader, err)
		}
		l.WaitProgress(t, 20, waitTimeout)
		slowest, errs := probe()
		t.Logf("slowest acks=all produce to %s/%d around the stop: %s", name, p, slowest)
		if len(errs) > 0 {
			t.Errorf("the probe producer of %s/%d saw %d errors, first: %v", name, p, len(errs), errs[0])
		}
		if log := e.c.Log(i); !strings.Contains(log, "controlled shutdown complete") {
			t.Fatalf("node %d did not complete its controlled shutdown:\n%s", leader.Leader, log)
		}
		l.WaitProgress(t, 100, waitTimeout)
		e.c.StartNode(i)
		e.waitInSync(name)
		l.WaitProgress(t, 50, waitTimeout)
	}
	acks, failed := l.Finish(t)
	t.Logf("%d records acknowledged, %d failed", len(acks), len(failed))
	if len(failed) > 0 {
		t.Errorf("the producer saw %d errors across controlled shutdowns, first: %v", len(failed), failed[0])
	}
	e.verify(name, parts, acks)
}

// probeLatency produces to topic/p one acks=all record at a time until
// the returned func is called, which reports the slowest produce and the
// errors (a measurement for the log; errors are asserted by the caller).
func (e *env) probeLatency(t *testing.T, topic string, p int32) func() (time.Duration, []error) {
	prod, err := client.NewProducer(e.cl, client.ProducerConfig{Acks: client.AcksAll, MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	var slowest time.Duration
	var errs []error
	go func() {
		defer close(done)
		for seq := 0; ; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			_, _, err := prod.Produce(context.Background(), &client.Record{Topic: topic, Partition: p, Value: []byte(fmt.Sprintf("probe-%d", seq))})
			slowest = max(slowest, time.Since(start))
			if err != nil {
				errs = append(errs, err)
			}
		}
	}()
	return func() (time.Duration, []error) {
		close(stop)
		<-done
		_ = prod.Close(context.Background())
		return slowest, errs
	}
}

// electResult is a line of `sluice -o json partition elect-leaders`.
type electResult struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Leader    int32  `json:"leader"`
	Result    string `json:"result"`
	Error     string `json:"error"`
}

// A reassignment that only reorders the replicas changes the preferred
// leader, not the leader: `sluice partition elect-leaders` and Kafka's
// ElectLeaders (through a kgo client on the Kafka listener) move it.
func TestClusterElectLeadersAfterReassignment(t *testing.T) {
	e := startEnv(t, "--auto-leader-rebalance=false")
	const name = "preferred"
	if _, err := e.cl.CreateTopic(e.ctx(), name, 2, 3, nil); err != nil {
		t.Fatal(err)
	}
	e.waitInSync(name)
	e.waitPreferredLeaders(name)

	// Put the second replica first and wait for the metadata to show it.
	reorder := func(p int32) []int32 {
		t.Helper()
		info := e.leaderOf(name, p)
		target := append([]int32{info.Replicas[1], info.Replicas[0]}, info.Replicas[2:]...)
		if err := e.cl.ReassignPartition(e.ctx(), name, p, target); err != nil {
			t.Fatal(err)
		}
		e.waitFor(fmt.Sprintf("replicas of %s/%d reordered to %v", name, p, target), func() error {
			info, err := e.partition(name, p)
			if err == nil && !slices.Equal(info.Replicas, target) {
				err = fmt.Errorf("replicas %v, leader %d", info.Replicas, info.Leader)
			}
			if err == nil && info.Leader != target[1] {
				err = fmt.Errorf("leader moved to %d by the reassignment alone", info.Leader)
			}
			return err
		})
		return target
	}

	// The CLI, one partition.
	target := reorder(0)
	out, err := e.sluice("-o", "json", "partition", "elect-leaders", "--topic", name, "--partition", "0")
	if err != nil {
		t.Fatalf("elect-leaders: %v\n%s", err, out)
	}
	var results []electResult
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("elect-leaders output is not JSON: %v\n%s", err, out)
	}
	if len(results) != 1 || results[0].Result != "elected" || results[0].Leader != target[0] {
		t.Fatalf("elect-leaders results %+v, want partition 0 elected with leader %d", results, target[0])
	}
	if info, err := e.partition(name, 0); err != nil || info.Leader != target[0] {
		t.Fatalf("%s/0 after elect-leaders: %+v, %v", name, info, err)
	}
	// Everything: nothing left to do, which is not a failure.
	out, err = e.sluice("partition", "elect-leaders")
	if err != nil || !strings.Contains(out, "not_needed") {
		t.Fatalf("elect-leaders of every partition: %v\n%s", err, out)
	}

	// Kafka's ElectLeaders through the Kafka listener.
	target = reorder(1)
	kc, err := kgo.NewClient(kgo.SeedBrokers(e.c.Kafka(0), e.c.Kafka(1), e.c.Kafka(2)))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	elect := func(topics []kmsg.ElectLeadersRequestTopic) map[int32]int16 {
		t.Helper()
		req := kmsg.NewPtrElectLeadersRequest()
		req.ElectionType = 0 // preferred
		req.Topics = topics
		req.TimeoutMillis = 10000
		resp, err := req.RequestWith(context.Background(), kc)
		if err != nil {
			t.Fatalf("ElectLeaders: %v", err)
		}
		if resp.ErrorCode != 0 {
			t.Fatalf("ElectLeaders: error code %d", resp.ErrorCode)
		}
		codes := map[int32]int16{}
		for _, rt := range resp.Topics {
			for _, rp := range rt.Partitions {
				if rt.Topic == name {
					codes[rp.Partition] = rp.ErrorCode
				}
			}
		}
		return codes
	}
	one := kmsg.NewElectLeadersRequestTopic()
	one.Topic, one.Partitions = name, []int32{1}
	if codes := elect([]kmsg.ElectLeadersRequestTopic{one}); len(codes) != 1 || codes[1] != 0 {
		t.Fatalf("ElectLeaders of %s/1: codes %v, want 0", name, codes)
	}
	if info, err := e.partition(name, 1); err != nil || info.Leader != target[0] {
		t.Fatalf("%s/1 after ElectLeaders: %+v, %v", name, info, err)
	}
	// A null topic list elects everything: nothing is needed any more.
	if codes := elect(nil); codes[0] != errElectionNotNeeded || codes[1] != errElectionNotNeeded {
		t.Fatalf("ElectLeaders of every partition: codes %v, want ELECTION_NOT_NEEDED", codes)
	}
}
