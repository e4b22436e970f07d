package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"seed", Config{Seeds: []string{"127.0.0.1:9650"}}, true},
		{"no seeds", Config{}, false},
		{"seed without port", Config{Seeds: []string{"localhost"}}, false},
		{"bad advertise", Config{Seeds: []string{"a:1"}, AdvertiseAddr: "nope"}, false},
		{"bad port", Config{Seeds: []string{"a:1"}, ListenPort: 70000}, false},
	}
	for _, c := range cases {
		if err := c.cfg.Validate(); (err == nil) != c.ok {
			t.Errorf("%s: Validate() = %v", c.name, err)
		}
	}
}

func TestConfigBackoffDoublesAndCaps(t *testing.T) {
	c := Config{RetryBackoff: 100 * time.Millisecond}
	want := []time.Duration{100, 200, 400, 800, 1600, 2000, 2000}
	for i, w := range want {
		if got := c.backoff(i + 1); got != w*time.Millisecond {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
}

func TestClientMetadataAndCreateTopic(t *testing.T) {
	c, fb := newFakeClient(t)
	ctx := testCtx(t)
	info, err := c.CreateTopic(ctx, "orders", 3, 1, map[string]string{"retention.ms": "1000"})
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "orders" {
		t.Fatalf("created %+v", info)
	}
	topics, err := c.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(topics) != 1 || topics[0].Name != "orders" || len(topics[0].Partitions) != 3 || topics[0].Configs["retention.ms"] != "1000" {
		t.Fatalf("topics %+v", topics)
	}
	m, err := c.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Brokers) != 1 || m.Brokers[0].Address != c.Address() || m.ClusterID != "fake" {
		t.Fatalf("metadata %+v", m)
	}
	_, err = c.CreateTopic(ctx, "orders", 3, 1, nil)
	if !errors.Is(err, messages.ErrTopicAlreadyExists) {
		t.Fatalf("second create: %v", err)
	}
	d, err := c.DescribeTopic(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Partitions) != 3 || d.Partitions[2].Partition != 2 || d.Partitions[0].Err != nil {
		t.Fatalf("describe %+v", d)
	}
	_ = fb
}

func TestClientCreateTopicRejectsBadArguments(t *testing.T) {
	c, _ := newFakeClient(t)
	ctx := testCtx(t)
	cases := []struct {
		name       string
		partitions int32
		rf         int32
		want       error
	}{
		{"bad/name", 1, 1, messages.ErrInvalidTopic},
		{"..", 1, 1, messages.ErrInvalidTopic},
		{"", 1, 1, messages.ErrInvalidTopic},
		{"ok", 0, 1, messages.ErrInvalidPartitions},
		{"ok", -3, 1, messages.ErrInvalidPartitions},
		{"ok", 1, 0, messages.ErrInvalidReplicationFactor},
	}
	for _, tc := range cases {
		if _, err := c.CreateTopic(ctx, tc.name, tc.partitions, tc.rf, nil); !errors.Is(err, tc.want) {
			t.Errorf("CreateTopic(%q, %d, %d) = %v, want %v", tc.name, tc.partitions, tc.rf, err, tc.want)
		}
	}
}

func TestClientUnknownTopicIsTypedAndFast(t *testing.T) {
	c, _ := newFakeClient(t)
	ctx := testCtx(t)
	_, _, err := c.ListOffsets(ctx, "missing", 0, LatestTimestamp)
	if !errors.Is(err, messages.ErrUnknownTopicOrPartition) {
		t.Fatalf("ListOffsets on a missing topic: %v", err)
	}
	if _, err := c.DescribeTopic(ctx, "missing"); !errors.Is(err, messages.ErrUnknownTopicOrPartition) {
		t.Fatalf("DescribeTopic: %v", err)
	}
}

func TestClientDeadLetterIsRetriedAsNotLeader(t *testing.T) {
	c, fb := newFakeClient(t)
	ctx := testCtx(t)
	fb.mu.Lock()
	fb.noReplicas = true
	fb.addTopicLocked("late", 1, nil)
	fb.mu.Unlock()
	// The replica actor appears only after a request to it was a dead
	// letter, which the client retries.
	fb.spawnReplicaOnDeadLetter("late", 0)
	off, _, err := c.ListOffsets(ctx, "late", 0, LatestTimestamp)
	if err != nil || off != 0 {
		t.Fatalf("ListOffsets = %d, %v", off, err)
	}
}

func TestClientBootstrapFailsWithoutBroker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	// Nothing listens on this seed.
	_, err := New(ctx, Config{Seeds: []string{"127.0.0.1:1"}})
	if err == nil {
		t.Fatal("New succeeded without a broker")
	}
}
