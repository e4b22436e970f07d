package client

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"
)

// callbackLog records the partitions passed to a member's OnRevoked,
// OnLost and OnAssigned callbacks.
type callbackLog struct {
	mu       sync.Mutex
	revoked  map[TopicPartition]int
	lost     map[TopicPartition]int
	assigned map[TopicPartition]int
}

func newCallbackLog() *callbackLog {
	l := &callbackLog{}
	l.reset()
	return l
}

func (l *callbackLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.revoked, l.lost, l.assigned = map[TopicPartition]int{}, map[TopicPartition]int{}, map[TopicPartition]int{}
}

func (l *callbackLog) wrap(cfg GroupConfig) GroupConfig {
	note := func(m func() map[TopicPartition]int, next func(context.Context, []TopicPartition)) func(context.Context, []TopicPartition) {
		return func(ctx context.Context, tps []TopicPartition) {
			l.mu.Lock()
			for _, tp := range tps {
				m()[tp]++
			}
			l.mu.Unlock()
			if next != nil {
				next(ctx, tps)
			}
		}
	}
	cfg.OnRevoked = note(func() map[TopicPartition]int { return l.revoked }, cfg.OnRevoked)
	cfg.OnLost = note(func() map[TopicPartition]int { return l.lost }, cfg.OnLost)
	cfg.OnAssigned = note(func() map[TopicPartition]int { return l.assigned }, cfg.OnAssigned)
	return cfg
}

func (l *callbackLog) snapshot() (revoked, lost, assigned map[TopicPartition]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.revoked), maps.Clone(l.lost), maps.Clone(l.assigned)
}

// loggedMember polls a group consumer in a goroutine until the test ends,
// tracking its assignment and logging its callbacks.
type loggedMember struct {
	*callbackLog
	mu    sync.Mutex
	owned map[TopicPartition]bool
}

func startLoggedMember(t *testing.T, c *Client, cfg GroupConfig) *loggedMember {
	t.Helper()
	m := &loggedMember{callbackLog: newCallbackLog(), owned: map[TopicPartition]bool{}}
	cfg.OnAssigned = func(_ context.Context, tps []TopicPartition) {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, tp := range tps {
			m.owned[tp] = true
		}
	}
	cfg.OnRevoked = func(_ context.Context, tps []TopicPartition) {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, tp := range tps {
			delete(m.owned, tp)
		}
	}
	cfg.OnLost = cfg.OnRevoked
	gc, err := NewGroupConsumer(c, m.wrap(cfg))
	if err != nil {
		t.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				done <- gc.Close(ctx)
				cancel()
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			_, err := gc.Poll(ctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				done <- err
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		if err := <-done; err != nil {
			t.Errorf("member: %v", err)
		}
	})
	return m
}

func (m *loggedMember) assignment() map[TopicPartition]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.owned)
}

// eachOwns checks that every one of topic's n partitions has exactly one
// owner among members, and that each member owns want partitions.
func eachOwns(topic string, n int32, want int, members ...*loggedMember) error {
	count := map[TopicPartition]int{}
	for i, m := range members {
		owned := m.assignment()
		if len(owned) != want {
			return fmt.Errorf("member %d owns %d partitions, want %d", i, len(owned), want)
		}
		for tp := range owned {
			count[tp]++
		}
	}
	for p := range n {
		if c := count[TopicPartition{Topic: topic, Partition: p}]; c != 1 {
			return fmt.Errorf("%s/%d owned %d times", topic, p, c)
		}
	}
	return nil
}

// TestGroupConsumerCooperativeRevokesOnlyMovedPartitions adds a third
// member to a cooperative-sticky group of two: each of the first two
// keeps its partitions but one, and its OnRevoked is passed the moved
// partition only, never one it keeps.
func TestGroupConsumerCooperativeRevokesOnlyMovedPartitions(t *testing.T) {
	c := newNodeClient(t)
	ctx := context.Background()
	if _, err := c.CreateTopic(ctx, "orders", 6, 1, nil); err != nil {
		t.Fatal(err)
	}
	produceEach(t, c, "orders", 6, 5)
	cfg := groupConfig("app", "orders")
	cfg.Assignors = []string{"cooperative-sticky"}
	a, b := startLoggedMember(t, c, cfg), startLoggedMember(t, c, cfg)
	waitUntil(t, func() error { return eachOwns("orders", 6, 3, a, b) })
	before := []map[TopicPartition]bool{a.assignment(), b.assignment()}
	a.reset()
	b.reset()

	third := startLoggedMember(t, c, cfg)
	waitUntil(t, func() error { return eachOwns("orders", 6, 2, a, b, third) })
	for i, m := range []*loggedMember{a, b} {
		after := m.assignment()
		revoked, lost, _ := m.snapshot()
		if len(lost) != 0 {
			t.Errorf("member %d lost %v in a cooperative rebalance", i, slices.Collect(maps.Keys(lost)))
		}
		for tp := range before[i] {
			switch {
			case after[tp] && revoked[tp] > 0:
				t.Errorf("member %d kept %v but its OnRevoked was passed it", i, tp)
			case !after[tp] && revoked[tp] != 1:
				t.Errorf("member %d gave %v away; OnRevoked passed it %d times, want once", i, tp, revoked[tp])
			}
		}
		for tp := range revoked {
			if !before[i][tp] {
				t.Errorf("member %d: OnRevoked passed %v, which it did not own", i, tp)
			}
		}
	}
}
