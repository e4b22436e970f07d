package controller

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/local"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

// staticMembers is a Membership whose live set the test sets.
type staticMembers struct {
	mu    sync.Mutex
	nodes []int32
}

func (s *staticMembers) set(nodes ...int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodes = nodes
}

func (s *staticMembers) Members(context.Context) ([]cluster.Member, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	members := make([]cluster.Member, len(s.nodes))
	for i, n := range s.nodes {
		members[i] = cluster.Member{NodeID: n}
	}
	return members, 1, nil
}

func (s *staticMembers) Join(context.Context, cluster.Member) error { return nil }
func (s *staticMembers) Leave(context.Context) error                { return nil }
func (s *staticMembers) WatchMembers(ctx context.Context, _ uint64) ([]cluster.Member, uint64, error) {
	return s.Members(ctx)
}
func (s *staticMembers) Campaign(context.Context) (<-chan struct{}, error) {
	return make(chan struct{}), nil
}
func (s *staticMembers) Controller(context.Context) (int32, error) { return 1, nil }

type fixture struct {
	ctl     *Controller
	store   cluster.Store
	members *staticMembers
}

func newFixture(t *testing.T, nodes ...int32) fixture {
	t.Helper()
	st, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := &staticMembers{}
	m.set(nodes...)
	return fixture{
		ctl:     New(st, m, metadata.DefaultTopicConfig(), WithStartIndex(func(string) int { return 0 })),
		store:   st,
		members: m,
	}
}

func (f fixture) create(t *testing.T, name string, partitions, rf int32, configs map[string]string) {
	t.Helper()
	resp := f.ctl.CreateTopic(context.Background(), &messages.CreateTopicRequest{
		Name: name, Partitions: partitions, ReplicationFactor: rf, Configs: configs,
	})
	if resp.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("CreateTopic(%s): %v: %s", name, resp.ErrorCode, resp.ErrorMessage)
	}
}

// storeKeys lists every key, to check that a refused request wrote nothing.
func (f fixture) storeKeys(t *testing.T) []cluster.KV {
	t.Helper()
	kvs, _, err := f.store.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return kvs
}

func TestControllerCreateTopic(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2, 3)
	resp := f.ctl.CreateTopic(ctx, &messages.CreateTopicRequest{
		Name: "orders", Partitions: 3, ReplicationFactor: 2,
		Configs: map[string]string{metadata.ConfigRetentionMs: "60000"},
	})
	if resp.ErrorCode != messages.ErrorCode_NONE || resp.ErrorMessage != "" {
		t.Fatalf("CreateTopic: %v %q", resp.ErrorCode, resp.ErrorMessage)
	}
	tm := resp.GetTopic()
	if tm.GetName() != "orders" || len(tm.GetPartitions()) != 3 || tm.GetConfigs()[metadata.ConfigRetentionMs] != "60000" {
		t.Fatalf("response topic = %v", tm)
	}
	topic, err := metadata.GetTopic(ctx, f.store, "orders")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int32{{1, 2}, {2, 3}, {3, 1}}
	if !reflect.DeepEqual(topic.Replicas, want) {
		t.Fatalf("replicas = %v, want %v", topic.Replicas, want)
	}
	for p, pm := range tm.GetPartitions() {
		if pm.GetLeader() != want[p][0] || pm.GetLeaderEpoch() != 0 || !reflect.DeepEqual(pm.GetIsr(), want[p]) || !reflect.DeepEqual(pm.GetReplicas(), want[p]) {
			t.Fatalf("partition %d metadata = %v", p, pm)
		}
		s, err := metadata.GetPartitionState(ctx, f.store, "orders", int32(p))
		if err != nil || s.Leader != want[p][0] || !reflect.DeepEqual(s.ISR, want[p]) {
			t.Fatalf("partition %d state = %+v, %v", p, s, err)
		}
	}
}

func TestControllerCreateTopicValidateOnly(t *testing.T) {
	f := newFixture(t, 1)
	resp := f.ctl.CreateTopic(context.Background(), &messages.CreateTopicRequest{
		Name: "dry", Partitions: 2, ReplicationFactor: 1, ValidateOnly: true,
	})
	if resp.ErrorCode != messages.ErrorCode_NONE || len(resp.GetTopic().GetPartitions()) != 2 {
		t.Fatalf("validate-only create = %v", resp)
	}
	if kvs := f.storeKeys(t); len(kvs) != 0 {
		t.Fatalf("validate-only create wrote %d keys", len(kvs))
	}
	// Validation still runs.
	resp = f.ctl.CreateTopic(context.Background(), &messages.CreateTopicRequest{
		Name: "dry", Partitions: 0, ReplicationFactor: 1, ValidateOnly: true,
	})
	if resp.ErrorCode != messages.ErrorCode_INVALID_PARTITIONS {
		t.Fatalf("validate-only with 0 partitions = %v", resp.ErrorCode)
	}
}

func TestControllerCreateTopicErrors(t *testing.T) {
	f := newFixture(t, 1, 2)
	f.create(t, "existing", 1, 1, nil)
	f.create(t, "metrics.cpu", 1, 1, nil)
	before := f.storeKeys(t)

	cases := []struct {
		name    string
		req     *messages.CreateTopicRequest
		code    messages.ErrorCode
		message string
	}{
		{"duplicate", &messages.CreateTopicRequest{Name: "existing", Partitions: 1, ReplicationFactor: 1},
			messages.ErrorCode_TOPIC_ALREADY_EXISTS, `topic "existing" already exists`},
		{"colliding name", &messages.CreateTopicRequest{Name: "metrics_cpu", Partitions: 1, ReplicationFactor: 1},
			messages.ErrorCode_INVALID_TOPIC_EXCEPTION, `collides with existing topic "metrics.cpu"`},
		{"empty name", &messages.CreateTopicRequest{Partitions: 1, ReplicationFactor: 1},
			messages.ErrorCode_INVALID_TOPIC_EXCEPTION, "empty"},
		{"bad character", &messages.CreateTopicRequest{Name: "a/b", Partitions: 1, ReplicationFactor: 1},
			messages.ErrorCode_INVALID_TOPIC_EXCEPTION, `'/'`},
		{"zero partitions", &messages.CreateTopicRequest{Name: "t", Partitions: 0, ReplicationFactor: 1},
			messages.ErrorCode_INVALID_PARTITIONS, "at least 1, got 0"},
		{"negative partitions", &messages.CreateTopicRequest{Name: "t", Partitions: -1, ReplicationFactor: 1},
			messages.ErrorCode_INVALID_PARTITIONS, "got -1"},
		{"zero replication factor", &messages.CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 0},
			messages.ErrorCode_INVALID_REPLICATION_FACTOR, "at least 1, got 0"},
		{"replication factor above live nodes", &messages.CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 3},
			messages.ErrorCode_INVALID_REPLICATION_FACTOR, "replication factor 3 is larger than the 2 live nodes"},
		{"bad config value", &messages.CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 1,
			Configs: map[string]string{metadata.ConfigCleanupPolicy: "shred"}},
			messages.ErrorCode_INVALID_CONFIG, `cleanup.policy: invalid value "shred"`},
		{"unknown config", &messages.CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 1,
			Configs: map[string]string{"retention.weeks": "1"}},
			messages.ErrorCode_INVALID_CONFIG, `unknown topic config "retention.weeks"`},
		{"min.insync above replication factor", &messages.CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 2,
			Configs: map[string]string{metadata.ConfigMinInsyncReplicas: "3"}},
			messages.ErrorCode_INVALID_CONFIG, "must not exceed the replication factor 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.ctl.CreateTopic(context.Background(), tc.req)
			if resp.ErrorCode != tc.code || !strings.Contains(resp.ErrorMessage, tc.message) {
				t.Fatalf("CreateTopic = %v %q, want %v containing %q", resp.ErrorCode, resp.ErrorMessage, tc.code, tc.message)
			}
			if resp.Topic != nil {
				t.Fatalf("failed create described a topic: %v", resp.Topic)
			}
			if after := f.storeKeys(t); !reflect.DeepEqual(after, before) {
				t.Fatalf("refused create changed the store")
			}
		})
	}
}

func TestControllerDeleteThenRecreate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1)
	f.create(t, "t", 2, 1, nil)
	first, _ := metadata.GetTopic(ctx, f.store, "t")
	if resp := f.ctl.DeleteTopic(ctx, &messages.DeleteTopicRequest{Name: "t"}); resp.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("DeleteTopic: %v %s", resp.ErrorCode, resp.ErrorMessage)
	}
	// Only the delete record remains: nodes remove the data on it.
	if kvs := f.storeKeys(t); len(kvs) != 1 || kvs[0].Key != metadata.DeletedTopicKey(first.ID) {
		t.Fatalf("after delete the store holds %v", kvs)
	}
	resp := f.ctl.DeleteTopic(ctx, &messages.DeleteTopicRequest{Name: "t"})
	if resp.ErrorCode != messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION || !strings.Contains(resp.ErrorMessage, `"t" does not exist`) {
		t.Fatalf("second DeleteTopic = %v %q", resp.ErrorCode, resp.ErrorMessage)
	}
	f.create(t, "t", 1, 1, nil)
	second, _ := metadata.GetTopic(ctx, f.store, "t")
	if second.ID == first.ID || second.Partitions() != 1 {
		t.Fatalf("recreated topic = %+v (first id %s)", second, first.ID)
	}
}

func TestControllerInternalTopic(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1)
	resp := f.ctl.CreateInternalTopic(ctx, &messages.CreateTopicRequest{Name: "__consumer_offsets", Partitions: 4, ReplicationFactor: 1})
	if resp.ErrorCode != messages.ErrorCode_NONE || !resp.GetTopic().GetInternal() {
		t.Fatalf("CreateInternalTopic = %v", resp)
	}
	del := f.ctl.DeleteTopic(ctx, &messages.DeleteTopicRequest{Name: "__consumer_offsets"})
	if del.ErrorCode != messages.ErrorCode_INVALID_TOPIC_EXCEPTION || !strings.Contains(del.ErrorMessage, "internal") {
		t.Fatalf("DeleteTopic(internal) = %v %q", del.ErrorCode, del.ErrorMessage)
	}
	if _, err := metadata.GetTopic(ctx, f.store, "__consumer_offsets"); err != nil {
		t.Fatal(err)
	}
}

func TestControllerCreatePartitions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2, 3)
	f.create(t, "t", 3, 2, nil)

	// validate_only writes nothing.
	resp := f.ctl.CreatePartitions(ctx, &messages.CreatePartitionsRequest{Topic: "t", TotalCount: 5, ValidateOnly: true})
	if resp.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("validate-only: %v %s", resp.ErrorCode, resp.ErrorMessage)
	}
	if topic, _ := metadata.GetTopic(ctx, f.store, "t"); topic.Partitions() != 3 {
		t.Fatalf("validate-only grew the topic to %d", topic.Partitions())
	}

	resp = f.ctl.CreatePartitions(ctx, &messages.CreatePartitionsRequest{Topic: "t", TotalCount: 5})
	if resp.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("CreatePartitions: %v %s", resp.ErrorCode, resp.ErrorMessage)
	}
	topic, _ := metadata.GetTopic(ctx, f.store, "t")
	if topic.Partitions() != 5 || topic.ReplicationFactor() != 2 {
		t.Fatalf("grown topic = %+v", topic)
	}
	for p := int32(3); p < 5; p++ {
		s, err := metadata.GetPartitionState(ctx, f.store, "t", p)
		if err != nil || s.Leader != topic.Replicas[p][0] || len(s.ISR) != 2 {
			t.Fatalf("new partition %d state = %+v, %v", p, s, err)
		}
	}

	cases := []struct {
		req     *messages.CreatePartitionsRequest
		code    messages.ErrorCode
		message string
	}{
		{&messages.CreatePartitionsRequest{Topic: "t", TotalCount: 5}, messages.ErrorCode_INVALID_PARTITIONS, "has 5 partitions; the new count 5 must be larger"},
		{&messages.CreatePartitionsRequest{Topic: "t", TotalCount: 2}, messages.ErrorCode_INVALID_PARTITIONS, "new count 2"},
		{&messages.CreatePartitionsRequest{Topic: "missing", TotalCount: 9}, messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, `"missing" does not exist`},
	}
	for _, tc := range cases {
		resp := f.ctl.CreatePartitions(ctx, tc.req)
		if resp.ErrorCode != tc.code || !strings.Contains(resp.ErrorMessage, tc.message) {
			t.Errorf("CreatePartitions(%v) = %v %q, want %v containing %q", tc.req, resp.ErrorCode, resp.ErrorMessage, tc.code, tc.message)
		}
	}

	// Too few live nodes for the replication factor.
	f.members.set(1)
	resp = f.ctl.CreatePartitions(ctx, &messages.CreatePartitionsRequest{Topic: "t", TotalCount: 6})
	if resp.ErrorCode != messages.ErrorCode_INVALID_REPLICATION_FACTOR {
		t.Fatalf("CreatePartitions with one live node = %v %q", resp.ErrorCode, resp.ErrorMessage)
	}
}

func TestControllerAlterConfigs(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2)
	f.create(t, "t", 1, 2, map[string]string{metadata.ConfigRetentionMs: "1000"})

	resp := f.ctl.AlterConfigs(ctx, &messages.AlterConfigsRequest{
		Topic:  "t",
		Set:    map[string]string{metadata.ConfigSegmentBytes: "4096", metadata.ConfigMinInsyncReplicas: "2"},
		Delete: []string{metadata.ConfigRetentionMs},
	})
	want := map[string]string{metadata.ConfigSegmentBytes: "4096", metadata.ConfigMinInsyncReplicas: "2"}
	if resp.ErrorCode != messages.ErrorCode_NONE || !reflect.DeepEqual(resp.Configs, want) {
		t.Fatalf("AlterConfigs = %v %q %v", resp.ErrorCode, resp.ErrorMessage, resp.Configs)
	}
	topic, _ := metadata.GetTopic(ctx, f.store, "t")
	if !reflect.DeepEqual(topic.Configs, want) {
		t.Fatalf("stored configs = %v", topic.Configs)
	}
	cfg, err := topic.Config(metadata.DefaultTopicConfig())
	if err != nil || cfg.SegmentBytes != 4096 || cfg.Retention != metadata.DefaultTopicConfig().Retention {
		t.Fatalf("effective config = %+v, %v", cfg, err)
	}

	// Refused changes write nothing, even when part of the request is valid.
	cases := []struct {
		req     *messages.AlterConfigsRequest
		code    messages.ErrorCode
		message string
	}{
		{&messages.AlterConfigsRequest{Topic: "t", Set: map[string]string{
			metadata.ConfigRetentionMs: "5000", metadata.ConfigMaxMessageBytes: "0"}},
			messages.ErrorCode_INVALID_CONFIG, `max.message.bytes: invalid value "0"`},
		{&messages.AlterConfigsRequest{Topic: "t", Set: map[string]string{"colour": "blue"}},
			messages.ErrorCode_INVALID_CONFIG, `unknown topic config "colour"`},
		{&messages.AlterConfigsRequest{Topic: "t", Delete: []string{"colour"}},
			messages.ErrorCode_INVALID_CONFIG, `unknown topic config "colour"`},
		{&messages.AlterConfigsRequest{Topic: "t", Set: map[string]string{metadata.ConfigMinInsyncReplicas: "3"}},
			messages.ErrorCode_INVALID_CONFIG, "must not exceed the replication factor 2"},
		{&messages.AlterConfigsRequest{Topic: "t", Set: map[string]string{metadata.ConfigSegmentMs: "1"}, Delete: []string{metadata.ConfigSegmentMs}},
			messages.ErrorCode_INVALID_REQUEST, `"segment.ms" is both set and deleted`},
		{&messages.AlterConfigsRequest{Topic: "nope", Set: map[string]string{metadata.ConfigSegmentMs: "1"}},
			messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, `"nope" does not exist`},
	}
	before := f.storeKeys(t)
	for _, tc := range cases {
		resp := f.ctl.AlterConfigs(ctx, tc.req)
		if resp.ErrorCode != tc.code || !strings.Contains(resp.ErrorMessage, tc.message) {
			t.Errorf("AlterConfigs(%v) = %v %q, want %v containing %q", tc.req, resp.ErrorCode, resp.ErrorMessage, tc.code, tc.message)
		}
	}
	// validate_only answers with the would-be configs and writes nothing.
	resp = f.ctl.AlterConfigs(ctx, &messages.AlterConfigsRequest{
		Topic: "t", Set: map[string]string{metadata.ConfigFlushPolicy: "always"}, ValidateOnly: true,
	})
	if resp.ErrorCode != messages.ErrorCode_NONE || resp.Configs[metadata.ConfigFlushPolicy] != "always" {
		t.Fatalf("validate-only AlterConfigs = %v", resp)
	}
	if after := f.storeKeys(t); !reflect.DeepEqual(after, before) {
		t.Fatal("refused or validate-only AlterConfigs changed the store")
	}

	// Deleting every override leaves none.
	resp = f.ctl.AlterConfigs(ctx, &messages.AlterConfigsRequest{
		Topic: "t", Delete: []string{metadata.ConfigSegmentBytes, metadata.ConfigMinInsyncReplicas},
	})
	if resp.ErrorCode != messages.ErrorCode_NONE || len(resp.Configs) != 0 {
		t.Fatalf("delete all overrides = %v", resp)
	}
}

func TestControllerConcurrentAlterConfigs(t *testing.T) {
	// Racing requests on one topic all land: lost CAS races are retried.
	ctx := context.Background()
	f := newFixture(t, 1)
	f.create(t, "t", 1, 1, nil)
	keys := []string{metadata.ConfigRetentionMs, metadata.ConfigSegmentMs, metadata.ConfigDeleteRetentionMs, metadata.ConfigFlushIntervalMs}
	var wg sync.WaitGroup
	codes := make(chan messages.ErrorCode, len(keys)+1)
	for _, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := f.ctl.AlterConfigs(ctx, &messages.AlterConfigsRequest{Topic: "t", Set: map[string]string{k: "7"}})
			codes <- resp.ErrorCode
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		codes <- f.ctl.CreatePartitions(ctx, &messages.CreatePartitionsRequest{Topic: "t", TotalCount: 3}).ErrorCode
	}()
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != messages.ErrorCode_NONE {
			t.Fatalf("concurrent request failed: %v", code)
		}
	}
	topic, _ := metadata.GetTopic(ctx, f.store, "t")
	for _, k := range keys {
		if topic.Configs[k] != "7" {
			t.Fatalf("config %s lost: %v", k, topic.Configs)
		}
	}
	if topic.Partitions() != 3 {
		t.Fatalf("partitions = %d, want 3", topic.Partitions())
	}
}

func TestControllerStoreClosed(t *testing.T) {
	f := newFixture(t, 1)
	f.store.Close()
	resp := f.ctl.CreateTopic(context.Background(), &messages.CreateTopicRequest{Name: "t", Partitions: 1, ReplicationFactor: 1})
	if resp.ErrorCode != messages.ErrorCode_NOT_CONTROLLER || !errors.Is(messages.ErrorForCode(resp.ErrorCode, ""), messages.ErrNotController) {
		t.Fatalf("CreateTopic on closed store = %v %q", resp.ErrorCode, resp.ErrorMessage)
	}
}

func TestControllerConcurrentCreateSameName(t *testing.T) {
	f := newFixture(t, 1)
	const racers = 4
	codes := make(chan messages.ErrorCode, racers)
	var wg sync.WaitGroup
	for range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- f.ctl.CreateTopic(context.Background(), &messages.CreateTopicRequest{
				Name: "t", Partitions: 4, ReplicationFactor: 1,
			}).ErrorCode
		}()
	}
	wg.Wait()
	close(codes)
	created := 0
	for code := range codes {
		switch code {
		case messages.ErrorCode_NONE:
			created++
		case messages.ErrorCode_TOPIC_ALREADY_EXISTS:
		default:
			t.Fatalf("racing create failed with %v", code)
		}
	}
	if created != 1 {
		t.Fatalf("%d racing creates succeeded, want exactly 1", created)
	}
}
