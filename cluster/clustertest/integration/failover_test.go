package integration

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest/workload"
)

const (
	topic      = "orders"
	partitions = 6
)

// TestClusterFailover runs the failure scenarios in order on one
// three-node cluster; each leaves every node up and in sync.
func TestClusterFailover(t *testing.T) {
	e := startEnv(t)
	_, err := e.cl.CreateTopic(e.ctx(), topic, partitions, 3, map[string]string{"min.insync.replicas": "2"})
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	e.waitInSync(topic)
	var acks []acked

	steps := []struct {
		name string
		run  func(t *testing.T, e *env) []acked
	}{
		{"LeaderKilledTwiceUnderAcksAll", leaderKilledTwice},
		{"ControllerKilled", controllerKilled},
		{"TwoOfThreeDown", twoOfThreeDown},
		{"StaleLeaderCannotAcknowledge", staleLeader},
		{"StaleClientFencedByLeaderEpoch", staleClientFenced},
		{"ConsulUnavailable", consulPaused},
		{"ConsulAgentRestart", consulRestart},
	}
	for _, s := range steps {
		ok := t.Run(s.name, func(t *testing.T) {
			e.t = t
			acks = append(acks, s.run(t, e)...)
		})
		e.t = t
		if !ok {
			return // the cluster may not be in shape for the next step
		}
	}
	// Everything acknowledged over all steps is still there.
	e.verify(topic, partitions, acks)
}

// leaderKilledTwice produces with acks=all while the leader of partition 0
// is SIGKILLed and restarted, then the leader of partition 1: every
// acknowledged record is afterwards at its partition and offset, in
// order, and the killed nodes are back in every ISR.
func leaderKilledTwice(t *testing.T, e *env) []acked {
	l := workload.Start(t, e.cl, topic, partitions, "kill")
	l.WaitProgress(t, 100, waitTimeout)
	for round, p := range []int32{0, 1} {
		leader := e.leaderOf(topic, p)
		i := e.index(leader.Leader)
		t.Logf("round %d: killing node %d, leader of %s/%d in epoch %d", round, leader.Leader, topic, p, leader.LeaderEpoch)
		e.c.Kill(i)
		e.waitLeadersOff(topic, leader.Leader)
		if now := e.leaderOf(topic, p); now.LeaderEpoch <= leader.LeaderEpoch {
			t.Fatalf("%s/%d: new leader %d in epoch %d, not after %d", topic, p, now.Leader, now.LeaderEpoch, leader.LeaderEpoch)
		}
		l.WaitProgress(t, 100, waitTimeout) // acks=all keeps working with two of three
		e.c.StartNode(i)
		e.waitInSync(topic)
		l.WaitProgress(t, 50, waitTimeout)
	}
	acks, failed := l.Finish(t)
	t.Logf("%d records acknowledged, %d failed", len(acks), len(failed))
	e.verify(topic, partitions, acks)
	return acks
}

// controllerKilled SIGKILLs the controller's node: another node takes the
// lock, and it moves the dead node's partitions to new leaders.
func controllerKilled(t *testing.T, e *env) []acked {
	md, err := e.metadata()
	if err != nil {
		t.Fatal(err)
	}
	old := md.ControllerID
	i := e.index(old)
	e.c.Kill(i)
	e.waitFor("a new controller", func() error {
		md, err := e.metadata()
		if err != nil {
			return err
		}
		if md.ControllerID < 0 || md.ControllerID == old {
			return fmt.Errorf("controller %d", md.ControllerID)
		}
		return nil
	})
	e.waitLeadersOff(topic, old)
	acks := produceEach(t, e, "after-controller-loss")
	e.c.StartNode(i)
	e.waitInSync(topic)
	return acks
}

// produceEach produces one acks=all record to every partition and returns
// the acknowledgements; every one must succeed.
func produceEach(t *testing.T, e *env, prefix string) []acked {
	t.Helper()
	p, err := client.NewProducer(e.cl, client.ProducerConfig{Acks: client.AcksAll})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	var out []acked
	for part := range int32(partitions) {
		value := fmt.Sprintf("%s-%d", prefix, part)
		_, off, err := p.Produce(e.ctx(), &client.Record{Topic: topic, Partition: part, Value: []byte(value)})
		if err != nil {
			t.Fatalf("produce %q to %s/%d: %v", value, topic, part, err)
		}
		out = append(out, acked{Stream: prefix, Seq: int(part), Partition: part, Offset: off, Value: value})
	}
	return out
}

// twoOfThreeDown kills two nodes: the survivor leads every partition with
// itself alone in the ISR, refuses acks=all with NOT_ENOUGH_REPLICAS, and
// still serves everything committed before.
func twoOfThreeDown(t *testing.T, e *env) []acked {
	before := make(map[int32]map[int64]string)
	for p := range int32(partitions) {
		before[p] = e.readAll(topic, p)
	}
	e.c.Kill(1)
	e.c.Kill(2)
	survivor := e.c.Node(0).ID
	e.waitFor("the survivor leads everything alone", func() error {
		for p := range int32(partitions) {
			info, err := e.partition(topic, p)
			if err != nil {
				return err
			}
			if info.Leader != survivor || len(info.ISR) != 1 {
				return fmt.Errorf("partition %d: leader %d isr %v", p, info.Leader, info.ISR)
			}
		}
		return nil
	})
	p, err := client.NewProducer(e.cl, client.ProducerConfig{Acks: client.AcksAll, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	for part := range int32(partitions) {
		// Every attempt must fail; until the leader's replica has applied
		// the shrunken ISR an attempt may fail otherwise (not leader yet,
		// NOT_ENOUGH_REPLICAS_AFTER_APPEND), then it is refused up front.
		e.waitFor(fmt.Sprintf("acks=all to %s/%d refused with NOT_ENOUGH_REPLICAS", topic, part), func() error {
			_, off, err := p.Produce(e.ctx(), &client.Record{Topic: topic, Partition: part, Value: []byte("refused")})
			switch {
			case err == nil:
				t.Fatalf("acks=all to %s/%d acknowledged at offset %d with one replica in sync", topic, part, off)
			case !isNotEnoughReplicas(err):
				return err
			}
			return nil
		})
	}
	if err := p.Close(e.ctx()); err != nil {
		t.Errorf("close producer: %v", err)
	}
	for part := range int32(partitions) {
		after := e.readAll(topic, part)
		for off, v := range before[part] {
			if after[off] != v {
				t.Errorf("%s/%d offset %d: %q before, %q with two nodes down", topic, part, off, v, after[off])
			}
		}
	}
	e.c.StartNode(1)
	e.c.StartNode(2)
	e.waitInSync(topic)
	return nil
}

// staleLeader pauses the leader of partition 3 (SIGSTOP) with an acks=all
// produce on its way to it (sent once, no retries, so only the old leader
// can answer it); the cluster elects a new leader, which takes more
// acks=all records. The old leader, continued, still believes for a moment
// that it leads, but must not acknowledge the queued produce; it then
// rejoins as a follower, and everything acknowledged is in the final log
// at its offset.
func staleLeader(t *testing.T, e *env) []acked {
	const p = 3
	old := e.leaderOf(topic, p)
	i := e.index(old.Leader)
	probe, err := client.NewProducer(e.cl, client.ProducerConfig{
		Acks: client.AcksAll, Retries: -1, RequestTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close(context.Background())
	e.c.Pause(i)
	type result struct {
		offset int64
		err    error
	}
	probeDone := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
		defer cancel()
		_, off, err := probe.Produce(ctx, &client.Record{Topic: topic, Partition: p, Value: []byte("stale-probe")})
		probeDone <- result{off, err}
	}()
	e.waitFor("a new leader for the paused node's partition", func() error {
		info, err := e.partition(topic, p)
		if err != nil {
			return err
		}
		if info.Leader < 0 || info.Leader == old.Leader || info.LeaderEpoch <= old.LeaderEpoch {
			return fmt.Errorf("leader %d epoch %d", info.Leader, info.LeaderEpoch)
		}
		return nil
	})
	acks := produceEach(t, e, "while-stale")
	e.c.Resume(i)
	select {
	case r := <-probeDone:
		// The paused leader refuses the produce whichever it handles
		// first once it continues: the produce (it appends, waits for
		// followers that now follow the new leader, and resigns with
		// NOT_LEADER_OR_FOLLOWER when the new epoch reaches it) or the
		// new epoch (the produce carries the old one: FENCED_LEADER_EPOCH).
		switch {
		case r.err == nil:
			t.Errorf("the paused leader (node %d, epoch %d) acknowledged an acks=all produce at offset %d after a new leader was elected",
				old.Leader, old.LeaderEpoch, r.offset)
		case errors.Is(r.err, client.ErrNotLeaderOrFollower), errors.Is(r.err, client.ErrFencedLeaderEpoch):
			t.Logf("produce queued at the paused leader refused as it must: %v", r.err)
		default:
			t.Errorf("produce queued at the paused leader (node %d, epoch %d): %v; want NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH",
				old.Leader, old.LeaderEpoch, r.err)
		}
	case <-time.After(2 * waitTimeout):
		t.Fatal("probe produce never completed")
	}
	e.waitInSync(topic)
	e.verify(topic, partitions, acks)
	// What the paused leader may have appended was cut when it followed.
	values, err := workload.ReadPartition(e.ctx(), e.cl, topic, p)
	if err != nil {
		t.Fatal(err)
	}
	for off, v := range values {
		if v == "stale-probe" {
			t.Errorf("the refused probe is in %s/%d at offset %d", topic, p, off)
		}
	}
	return acks
}

// consulPaused pauses the Consul agent (SIGSTOP) for longer than the check
// TTL: nodes report the lost registration and keep serving acks=all
// produces with the leaders they have; once Consul continues, every
// node's session has expired, they register again, and the partitions end
// up led and fully in sync again.
func consulPaused(t *testing.T, e *env) []acked {
	e.agent.Pause()
	resumed := false
	defer func() {
		if !resumed {
			e.agent.Resume()
		}
	}()
	e.waitFor("nodes report the lost registration", func() error {
		for i := range e.c.Len() {
			code, body, err := e.healthz(i)
			if err != nil {
				return err
			}
			if code != 200 || !strings.Contains(body, "warning") {
				return fmt.Errorf("node %d healthz %d %q", e.c.Node(i).ID, code, body)
			}
		}
		return nil
	})
	st, err := e.clusterStatus(0)
	if err != nil {
		t.Fatal(err)
	}
	if st.Membership.Registered || st.Membership.Problem == "" || !st.Clustered || len(st.Partitions) != partitions {
		t.Errorf("/cluster while Consul is paused: membership %+v, clustered %v, %d partitions",
			st.Membership, st.Clustered, len(st.Partitions))
	}
	out, err := e.sluice("cluster", "status")
	if err != nil || !strings.Contains(out, "is not registered in the cluster") || !strings.Contains(out, "orders") {
		t.Errorf("sluice cluster status while Consul is paused: %v\n%s", err, out)
	}
	acks := produceEach(t, e, "consul-paused")
	e.agent.Resume()
	resumed = true
	e.waitFor("every node registered again", func() error { return e.allRegistered() })
	e.waitInSync(topic)
	e.waitFor("/cluster reports a healthy cluster", func() error {
		st, err := e.clusterStatus(1)
		if err != nil {
			return err
		}
		if !st.Membership.Registered || st.ControllerID < 0 || len(st.Brokers) != 3 || st.UnderReplicated != 0 || st.Offline != 0 {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	return append(acks, produceEach(t, e, "consul-resumed")...)
}

// allRegistered checks that every node reports a healthy registration and
// holds its node key.
func (e *env) allRegistered() error {
	for i := range e.c.Len() {
		code, body, err := e.healthz(i)
		if err != nil {
			return err
		}
		if code != 200 || body != "ok\n" {
			return fmt.Errorf("node %d healthz %d %q", e.c.Node(i).ID, code, body)
		}
	}
	pairs, _, err := e.agent.Client().KV().List("sluice/nodes/", nil)
	if err != nil {
		return err
	}
	held := 0
	for _, p := range pairs {
		if p.Session != "" {
			held++
		}
	}
	if held != e.c.Len() {
		return fmt.Errorf("%d node keys held in Consul", held)
	}
	return nil
}

// consulRestart stops the Consul agent (its dev-mode state is lost), checks
// that nodes report the lost registration and keep serving, then starts it
// again: nodes register again, one takes the controller lock, and acks=all
// produces keep working on the current leaders.
func consulRestart(t *testing.T, e *env) []acked {
	e.agent.Stop()
	e.waitFor("nodes report the lost registration", func() error {
		code, body, err := e.healthz(0)
		if err != nil {
			return err
		}
		if code != 200 || !strings.Contains(body, "warning") {
			return fmt.Errorf("healthz %d %q", code, body)
		}
		return nil
	})
	acks := produceEach(t, e, "consul-down")
	e.agent.Restart()
	e.waitFor("every node registered again", func() error { return e.allRegistered() })
	e.waitFor("a controller again", func() error {
		md, err := e.metadata()
		if err != nil {
			return err
		}
		if md.ControllerID < 0 {
			return fmt.Errorf("controller %d", md.ControllerID)
		}
		return nil
	})
	acks = append(acks, produceEach(t, e, "consul-back")...)
	return acks
}
