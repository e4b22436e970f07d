package client

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// TestGroupConsumerStaleMemberIsRefusedAndRejoins stalls a member (no
// Poll) while a second one joins: the rebalance goes on without it after
// the rebalance timeout. Commits with its old member id or generation are
// refused by the coordinator and change no offset; once it polls again it
// rejoins, gets its share and keeps consuming.
func TestGroupConsumerStaleMemberIsRefusedAndRejoins(t *testing.T) {
	c := newNodeClient(t)
	ctx := context.Background()
	const topic, group = "ledger", "audit"
	if _, err := c.CreateTopic(ctx, topic, 4, 1, nil); err != nil {
		t.Fatal(err)
	}
	produceEach(t, c, topic, 4, 5)
	cfg := groupConfig(group, topic)
	cfg.AutoCommit = false
	stale, err := NewGroupConsumer(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stale.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	read := map[string]bool{}
	poll := func() {
		pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		recs, err := stale.Poll(pctx)
		if err != nil && pctx.Err() == nil {
			t.Fatalf("poll: %v", err)
		}
		for _, r := range recs {
			read[string(r.Value)] = true
		}
	}
	waitUntil(t, func() error {
		poll()
		if len(read) != 20 {
			return fmt.Errorf("read %d records, want 20", len(read))
		}
		return nil
	})
	if err := stale.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	oldMember, oldGeneration := stale.MemberID(), stale.Generation()
	coord, err := stale.coordinator(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// A second member joins while the first does not poll: after the
	// rebalance timeout the group forms without it.
	other := startMember(t, c, groupConfig(group, topic))
	waitUntil(t, func() error {
		if err := ownedOnce(topic, 4, other); err != nil {
			return err
		}
		if g := other.gc.Generation(); g <= oldGeneration {
			return fmt.Errorf("other member in generation %d, the stalled one was in %d", g, oldGeneration)
		}
		return nil
	})

	rewind := map[TopicPartition]int64{{Topic: topic, Partition: 0}: 1}
	commitAs := func(member string, generation int32) error {
		res, err := call[*messages.OffsetCommitResponse](ctx, c, coord, offsetCommitRequest(group, member, "", generation, rewind), c.cfg.RequestTimeout)
		if err != nil {
			return err
		}
		return checkCommit(res)
	}
	if err := commitAs(oldMember, oldGeneration); !errors.Is(err, messages.ErrUnknownMemberID) {
		t.Fatalf("commit as the removed member: %v, want UNKNOWN_MEMBER_ID", err)
	}
	if err := commitAs(other.gc.MemberID(), oldGeneration); !errors.Is(err, messages.ErrIllegalGeneration) {
		t.Fatalf("commit with the old generation: %v, want ILLEGAL_GENERATION", err)
	}
	// The stalled consumer's own commit is refused too (by the coordinator
	// or, once its heartbeat learnt it was removed, before sending).
	err = stale.CommitOffsets(ctx, rewind)
	if !errors.Is(err, messages.ErrUnknownMemberID) && !errors.Is(err, messages.ErrIllegalGeneration) && !errors.Is(err, messages.ErrRebalanceInProgress) {
		t.Fatalf("stale consumer's commit: %v, want it refused", err)
	}
	offs, err := c.CommittedOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(4) {
		if o := offs[TopicPartition{Topic: topic, Partition: p}].Offset; o != 5 {
			t.Fatalf("partition %d committed at %d after refused commits, want 5", p, o)
		}
	}

	// Polling again, it rejoins under a new member id and shares the
	// partitions; then new records on its partitions reach it.
	waitUntil(t, func() error {
		poll()
		owned := map[TopicPartition]bool{}
		for _, tp := range stale.Assignment() {
			owned[tp] = true
		}
		for tp := range other.assignment() {
			if owned[tp] {
				return fmt.Errorf("%v owned by both members", tp)
			}
			owned[tp] = true
		}
		if len(owned) != 4 || len(stale.Assignment()) != 2 {
			return fmt.Errorf("stalled member owns %v, the other %v", stale.Assignment(), other.assignment())
		}
		return nil
	})
	produceEach(t, c, topic, 4, 6) // p<n>-5 is new on every partition
	waitUntil(t, func() error {
		poll()
		for _, tp := range stale.Assignment() {
			if v := fmt.Sprintf("p%d-5", tp.Partition); !read[v] {
				return fmt.Errorf("the rejoined member has not read %s", v)
			}
		}
		return nil
	})
	if stale.MemberID() == oldMember || stale.Generation() <= oldGeneration {
		t.Fatalf("rejoined as %q in generation %d; was %q in %d", stale.MemberID(), stale.Generation(), oldMember, oldGeneration)
	}
}
