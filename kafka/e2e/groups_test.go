package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// member is a kgo group member whose rebalance callbacks record what it
// owns and what it gave up. The callbacks run on kgo's goroutines.
type member struct {
	name string
	cl   *kgo.Client

	mu      sync.Mutex
	owned   map[int32]bool
	revoked []int32 // every partition revoked or lost, in order
}

func (m *member) assigned(_ context.Context, _ *kgo.Client, tps map[string][]int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ps := range tps {
		for _, p := range ps {
			m.owned[p] = true
		}
	}
}

func (m *member) taken(_ context.Context, cl *kgo.Client, tps map[string][]int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, ps := range tps {
		for _, p := range ps {
			delete(m.owned, p)
			m.revoked = append(m.revoked, p)
		}
	}
}

// state is what the member owns (sorted) and how many partitions it gave
// up so far.
func (m *member) state() ([]int32, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.owned)), len(m.revoked)
}

// revokedSorted is every partition m gave up so far, sorted.
func (m *member) revokedSorted() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(slices.Values(m.revoked))
}

// groupRun is a set of members of one group consuming one topic; seen
// counts every value consumed.
type groupRun struct {
	t       *testing.T
	e       *kenv
	topic   string
	group   string
	members []*member
	seen    map[string]int
}

// join adds a member offering only the cooperative-sticky balancer. It
// commits what each poll returned before it lets a rebalance go on
// (BlockRebalanceOnPoll), so that no partition moves with records
// consumed and not committed.
func (g *groupRun) join(name string, extra ...kgo.Opt) *member {
	m := &member{name: name, owned: map[int32]bool{}}
	opts := append([]kgo.Opt{kgo.ConsumerGroup(g.group), kgo.ConsumeTopics(g.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(), kgo.HeartbeatInterval(200 * time.Millisecond),
		kgo.OnPartitionsAssigned(m.assigned), kgo.OnPartitionsRevoked(m.taken), kgo.OnPartitionsLost(m.taken)}, extra...)
	m.cl = newClient(g.t, g.e.c, opts...)
	g.members = append(g.members, m)
	return m
}

// leave closes m (LeaveGroup) after committing what it consumed.
func (g *groupRun) leave(m *member) {
	m.cl.Close()
	g.members = slices.DeleteFunc(g.members, func(x *member) bool { return x == m })
}

// pollUntil polls every member in turn, committing after each poll, until
// cond holds (failing after waitTimeout).
func (g *groupRun) pollUntil(what string, cond func() error) {
	g.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		for _, m := range g.members {
			ctx, cancel := context.WithTimeout(testCtx(g.t), 100*time.Millisecond)
			fs := m.cl.PollRecords(ctx, 100)
			cancel()
			if err := fs.Err0(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				g.t.Fatalf("%s: poll: %v", m.name, err)
			}
			fs.EachRecord(func(r *kgo.Record) { g.seen[string(r.Value)]++ })
			if err := m.cl.CommitUncommittedOffsets(testCtx(g.t)); err != nil {
				g.t.Fatalf("%s: commit: %v", m.name, err)
			}
			m.cl.AllowRebalance()
		}
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("%s: not reached after %s: %v", what, waitTimeout, err)
		}
	}
}

// split waits until the members own counts partitions each (in member
// order), every partition once, and all n records so far are consumed.
func (g *groupRun) split(n int, counts ...int) {
	g.t.Helper()
	g.pollUntil(fmt.Sprintf("partitions split %v, %d records", counts, n), func() error {
		owners := map[int32]string{}
		for i, m := range g.members {
			owned, _ := m.state()
			if len(owned) != counts[i] {
				return fmt.Errorf("%s owns %v", m.name, owned)
			}
			for _, p := range owned {
				if o, dup := owners[p]; dup {
					return fmt.Errorf("partition %d owned by %s and %s", p, o, m.name)
				}
				owners[p] = m.name
			}
		}
		if len(g.seen) < n {
			return fmt.Errorf("%d of %d records consumed", len(g.seen), n)
		}
		return nil
	})
}

// revocations is every member's count of revoked partitions.
func (g *groupRun) revocations() map[string]int {
	out := map[string]int{}
	for _, m := range g.members {
		_, n := m.state()
		out[m.name] = n
	}
	return out
}

// groupsCooperative runs kgo members with the cooperative-sticky balancer
// through joins and a leave: each step moves only the partitions that
// change owner (no member gives up a partition it keeps), and every
// record produced along the way is consumed exactly once.
func groupsCooperative(t *testing.T, e *kenv) {
	const topic, parts = "coop", 6
	createTopicRF(t, e.admin, topic, parts, 3, nil)
	e.waitInSync(topic)
	p := newClient(t, e.c, kgo.DefaultProduceTopic(topic))
	produced := 0
	produce := func(n int) {
		t.Helper()
		var recs []*kgo.Record
		for range n {
			recs = append(recs, &kgo.Record{Key: []byte(strconv.Itoa(produced)), Value: []byte(strconv.Itoa(produced))})
			produced++
		}
		if err := p.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	g := &groupRun{t: t, e: e, topic: topic, group: "coop-group", seen: map[string]int{}}

	produce(300)
	a := g.join("a")
	g.split(produced, 6)

	// b joins: a gives up exactly the three partitions b gets.
	b := g.join("b")
	produce(100)
	g.split(produced, 3, 3)
	ownedB, _ := b.state()
	if revokedA := a.revokedSorted(); !slices.Equal(revokedA, ownedB) {
		t.Fatalf("a revoked %v, b got %v: want exactly b's partitions moved", revokedA, ownedB)
	}

	// c joins: a and b give up one partition each.
	before := g.revocations()
	g.join("c")
	produce(100)
	g.split(produced, 2, 2, 2)
	after := g.revocations()
	if after["a"]-before["a"] != 1 || after["b"]-before["b"] != 1 {
		t.Fatalf("revocations %v after %v: want a and b to give up one partition each", after, before)
	}

	// b leaves: a and c take its partitions without giving any up.
	produce(100)
	before = g.revocations()
	g.leave(b)
	produce(100)
	g.split(produced, 3, 3)
	if after := g.revocations(); after["a"] != before["a"] || after["c"] != before["c"] {
		t.Fatalf("revocations %v after %v: want none when a member leaves", after, before)
	}

	for i := range produced {
		if n := g.seen[strconv.Itoa(i)]; n != 1 {
			t.Fatalf("record %d consumed %d times (of %d records)", i, n, produced)
		}
	}
}
