package integration

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/broker"
	"github.com/sluice-mq/sluice/client"
)

// Node metric samples counting produces and fetches refused for a stale
// leader epoch.
const (
	fencedProduces = `sluice_produce_requests_total{error="FENCED_LEADER_EPOCH"}`
	fencedFetches  = `sluice_fetch_requests_total{error="FENCED_LEADER_EPOCH"}`
)

// staleClientFenced moves the leadership of a partition while the
// client's metadata stays as it was (see moveLeaderUnseen), twice: the
// client's next produce, then its next fetch, still go to the old leader
// with the old epoch. The old leader must refuse each with
// FENCED_LEADER_EPOCH (counted in its /metrics), and the client must
// refresh its metadata and go on at the new leader: the record is
// acknowledged once, the consumer reads the partition without a gap or a
// repeat.
func staleClientFenced(t *testing.T, e *env) []acked {
	acks := produceEach(t, e, "before-stale-client") // something to read
	acks = append(acks, staleProduceFenced(t, e, 2)...)
	return append(acks, staleFetchFenced(t, e, 4)...)
}

// moveLeaderUnseen SIGKILLs the leader of partition p, waits (over HTTP
// only, leaving the client's metadata alone) until another node leads it
// in a newer epoch and the old leader is back in the ISR as its follower,
// and returns the old state the client still has and the old leader's
// index.
func moveLeaderUnseen(e *env, p int32) (client.PartitionInfo, int) {
	e.t.Helper()
	old := e.leaderOf(topic, p) // the client's metadata: leader and epoch
	i := e.index(old.Leader)
	other := (i + 1) % e.c.Len()
	e.c.Kill(i)
	e.waitFor("a new leader in a newer epoch", func() error {
		return e.movedOn(other, p, old)
	})
	e.c.StartNode(i)
	e.waitFor("the old leader back in the ISR, following the new epoch", func() error {
		if err := e.movedOn(i, p, old); err != nil {
			return err
		}
		info, err := e.statusOf(i, p)
		if err != nil {
			return err
		}
		if !slices.Contains(info.ISR, old.Leader) {
			return fmt.Errorf("isr %v without node %d", info.ISR, old.Leader)
		}
		return nil
	})
	return old, i
}

// staleProduceFenced: an acks=all produce with stale metadata is fenced
// by the old leader and acknowledged once by the new one.
func staleProduceFenced(t *testing.T, e *env, p int32) []acked {
	old, i := moveLeaderUnseen(e, p)
	before, err := e.counter(i, fencedProduces)
	if err != nil {
		t.Fatal(err)
	}
	prod, err := client.NewProducer(e.cl, client.ProducerConfig{Acks: client.AcksAll})
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close(context.Background())
	const value = "stale-client"
	_, off, err := prod.Produce(e.ctx(), &client.Record{Topic: topic, Partition: p, Value: []byte(value)})
	if err != nil {
		t.Fatalf("produce with stale metadata: %v", err)
	}
	after, err := e.counter(i, fencedProduces)
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Fatalf("node %d (old leader, epoch %d) counted %v fenced produces before and %v after the stale produce; want one more",
			old.Leader, old.LeaderEpoch, before, after)
	}
	now, err := e.partition(topic, p)
	if err != nil {
		t.Fatal(err)
	}
	if now.Leader == old.Leader || now.LeaderEpoch <= old.LeaderEpoch {
		t.Fatalf("client metadata after the retry: leader %d epoch %d, want another leader after epoch %d",
			now.Leader, now.LeaderEpoch, old.LeaderEpoch)
	}
	log := e.readAll(topic, p)
	n := 0
	for _, v := range log {
		if v == value {
			n++
		}
	}
	if n != 1 || log[off] != value {
		t.Fatalf("%q acknowledged at offset %d: log holds it %d times, %q at that offset", value, off, n, log[off])
	}
	return []acked{{Stream: "stale-client", Seq: 0, Partition: p, Offset: off, Value: value}}
}

// staleFetchFenced: a consumer whose metadata predates the failover is
// fenced by the old leader, refreshes, and reads everything the partition
// held before, once and in order. The leadership then moves again under
// the same consumer: its next fetch first validates its position at the
// new leader (OffsetsForLeaderEpoch for the epoch of the last batch it
// fetched), and it must go on at the next offset with the records
// produced since, neither rewinding nor skipping.
func staleFetchFenced(t *testing.T, e *env, p int32) []acked {
	want := e.readAll(topic, p)
	if len(want) == 0 {
		t.Fatalf("%s/%d is empty; the check needs records", topic, p)
	}
	old, i := moveLeaderUnseen(e, p)
	before, err := e.counter(i, fencedFetches)
	if err != nil {
		t.Fatal(err)
	}
	// A fetch lost with its node costs FetchMaxWait + RequestTimeout.
	cs, err := client.NewConsumer(e.cl, client.ConsumerConfig{FetchMaxWait: 200 * time.Millisecond, RequestTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cs.Close(context.Background()) }()
	tp := client.TopicPartition{Topic: topic, Partition: p}
	cs.Assign(tp)
	if err := cs.Seek(tp, 0); err != nil { // no offset lookup: the fetch is the first request
		t.Fatal(err)
	}
	ctx := e.ctx()
	next := int64(0)
	consume := func(end int64) {
		for next < end {
			recs, err := cs.Poll(ctx)
			if err != nil {
				t.Fatalf("poll at %d of %d: %v", next, end, err)
			}
			for _, r := range recs {
				if r.Offset != next || string(r.Value) != want[r.Offset] {
					t.Fatalf("consumed %q at offset %d, want %q at %d", r.Value, r.Offset, want[next], next)
				}
				next++
			}
		}
	}
	consume(int64(len(want)))
	after, err := e.counter(i, fencedFetches)
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Fatalf("node %d (old leader, epoch %d) counted %v fenced fetches before and %v after the stale consumer's; want more",
			old.Leader, old.LeaderEpoch, before, after)
	}

	moveLeaderUnseen(e, p)
	prod, err := client.NewProducer(e.cl, client.ProducerConfig{Acks: client.AcksAll})
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close(context.Background())
	var acks []acked
	for seq := range 3 {
		value := fmt.Sprintf("after-second-move-%d", seq)
		_, off, err := prod.Produce(ctx, &client.Record{Topic: topic, Partition: p, Value: []byte(value)})
		if err != nil {
			t.Fatalf("produce %q: %v", value, err)
		}
		want[off] = value
		acks = append(acks, acked{Stream: "after-second-move", Seq: seq, Partition: p, Offset: off, Value: value})
	}
	consume(acks[len(acks)-1].Offset + 1)
	return acks
}

// movedOn checks that node i's metadata view has partition p led by
// another node than old's leader, in a newer epoch.
func (e *env) movedOn(i int, p int32, old client.PartitionInfo) error {
	info, err := e.statusOf(i, p)
	if err != nil {
		return err
	}
	if info.Leader < 0 || info.Leader == old.Leader || info.LeaderEpoch <= old.LeaderEpoch {
		return fmt.Errorf("node %d sees leader %d epoch %d", e.c.Node(i).ID, info.Leader, info.LeaderEpoch)
	}
	return nil
}

// statusOf returns partition p of the topic under test as node i's
// GET /cluster reports it; unlike e.partition it leaves the client's
// metadata alone.
func (e *env) statusOf(i int, p int32) (broker.PartitionInfo, error) {
	st, err := e.clusterStatus(i)
	if err != nil {
		return broker.PartitionInfo{}, err
	}
	for _, info := range st.Partitions {
		if info.Topic == topic && info.Partition == p {
			return info, nil
		}
	}
	return broker.PartitionInfo{}, fmt.Errorf("node %d: no %s/%d in /cluster", e.c.Node(i).ID, topic, p)
}

// counter returns the value of one sample (name with labels) on node i's
// /metrics; 0 when the node has not exported it yet.
func (e *env) counter(i int, sample string) (float64, error) {
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + e.c.HTTP(i) + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: HTTP %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, sc.Err()
}
