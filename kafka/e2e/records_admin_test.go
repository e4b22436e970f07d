package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// produceN produces n keyed records to topic with acks=all, one batch
// each, so that small segments roll.
func produceN(t *testing.T, cl *kgo.Client, topic string, n int) {
	t.Helper()
	for i := range n {
		r := &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf("%04d-%s", i, strings.Repeat("x", 200)))}
		if err := cl.ProduceSync(testCtx(t), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// deleteRecords sends DeleteRecords for topic/0 and returns the
// partition's answer.
func deleteRecords(t *testing.T, cl *kgo.Client, topic string, offset int64) kmsg.DeleteRecordsResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Offset = offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0]
}

// earliest is topic/0's earliest offset by ListOffsets (0 and an error
// code when the answer is an error).
func earliest(cl *kgo.Client, topic string) (int64, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = -2
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		return 0, fmt.Errorf("list offsets: code %d", p.ErrorCode)
	}
	return p.Offset, nil
}

// segmentBases lists the base offsets of the .log files in dir.
func segmentBases(t *testing.T, dir string) []string {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(logs))
	for i, l := range logs {
		out[i] = strings.TrimLeft(strings.TrimSuffix(filepath.Base(l), ".log"), "0")
	}
	return out
}

// TestKafkaDeleteRecordsReplicated: DeleteRecords through the Kafka
// listener of a three-node cluster moves the leader's log start (past
// the high watermark is OFFSET_OUT_OF_RANGE), the followers follow it
// and delete their segments below it, a consumer from the beginning
// starts there, and the new start survives the leader's death: the
// follower elected in its place starts at the same offset.
func TestKafkaDeleteRecordsReplicated(t *testing.T) {
	e := startCluster(t)
	const topic = "trim"
	createTopicRF(t, e.admin, topic, 1, 3, map[string]string{"segment.bytes": "4096"})
	e.waitInSync(topic)
	produceN(t, e.admin, topic, 200)

	if p := deleteRecords(t, e.admin, topic, 201); p.ErrorCode != 1 {
		t.Fatalf("delete past the high watermark: code %d, want OFFSET_OUT_OF_RANGE", p.ErrorCode)
	}
	if p := deleteRecords(t, e.admin, topic, 150); p.ErrorCode != 0 || p.LowWatermark != 150 {
		t.Fatalf("delete before 150: code %d low watermark %d", p.ErrorCode, p.LowWatermark)
	}
	if off, err := earliest(e.admin, topic); err != nil || off != 150 {
		t.Fatalf("earliest offset %d, %v; want 150", off, err)
	}
	for i := range e.c.Len() {
		dir := filepath.Join(e.c.DataDir(i), topic+"-0")
		e.waitFor(fmt.Sprintf("node %d's segments below 150 deleted", e.c.Node(i).ID), func() error {
			bases := segmentBases(t, dir)
			if len(bases) == 0 || bases[0] == "" {
				entries, _ := os.ReadDir(dir)
				names := make([]string, len(entries))
				for i, e := range entries {
					names[i] = e.Name()
				}
				return fmt.Errorf("segments %v in %s (%v)", bases, dir, names)
			}
			return nil
		})
	}

	consumer := newClient(t, e.c, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	fetches := consumer.PollRecords(testCtx(t), 1)
	if err := fetches.Err(); err != nil {
		t.Fatal(err)
	}
	if recs := fetches.Records(); len(recs) == 0 || recs[0].Offset != 150 || !strings.HasPrefix(string(recs[0].Value), "0150-") {
		t.Fatalf("first record from the start: %+v", recs)
	}

	p, err := e.partition(topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.c.Kill(e.index(p.Leader))
	e.waitFor("a new leader of "+topic, func() error {
		np, err := e.partition(topic, 0)
		if err != nil {
			return err
		}
		if np.Leader < 0 || np.Leader == p.Leader {
			return fmt.Errorf("leader %d", np.Leader)
		}
		return nil
	})
	e.waitFor("the new leader's earliest offset", func() error {
		off, err := earliest(e.admin, topic)
		if err != nil {
			return err
		}
		if off != 150 {
			t.Fatalf("the new leader starts at %d, want 150", off)
		}
		return nil
	})
}

// TestKafkaOffsetsLogDirsAdmin runs on one node: AddOffsetsToTxn before
// __consumer_offsets exists succeeds once the node created it;
// DescribeLogDirs reports each replica's size in the data dir;
// OffsetDelete answers GROUP_ID_NOT_FOUND, GROUP_SUBSCRIBED_TO_TOPIC
// while a kgo member consumes the topic, UNKNOWN_TOPIC_OR_PARTITION, and
// deletes once the group is empty; /metrics counts the requests by API
// and error (the first error of a response); a failed disk makes DescribeLogDirs answer
// KAFKA_STORAGE_ERROR.
func TestKafkaOffsetsLogDirsAdmin(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"), clustertest.WithFlags(func(int) []string { return clustertest.FaultFlags() }))
	cl := newClient(t, c)

	t.Run("add offsets to txn creates __consumer_offsets", func(t *testing.T) { addOffsetsFresh(t, cl) })

	const topic = "sized"
	createTopic(t, cl, topic, 2, nil)
	produceN(t, cl, topic, 50)

	t.Run("describe log dirs", func(t *testing.T) {
		resp := describeLogDirs(t, cl, nil)
		if len(resp.Dirs) != 1 || resp.Dirs[0].ErrorCode != 0 || resp.Dirs[0].TotalBytes <= 0 {
			t.Fatalf("dirs %+v", resp.Dirs)
		}
		d := resp.Dirs[0]
		want, err := filepath.Abs(c.DataDir(0))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := filepath.Abs(d.Dir); got != want {
			t.Errorf("dir %s, want the data dir %s", d.Dir, want)
		}
		sizes := map[string]int64{}
		for _, rt := range d.Topics {
			for _, p := range rt.Partitions {
				sizes[fmt.Sprintf("%s/%d", rt.Topic, p.Partition)] = p.Size
				if p.OffsetLag != 0 || p.IsFuture {
					t.Errorf("%s/%d: lag %d future %v", rt.Topic, p.Partition, p.OffsetLag, p.IsFuture)
				}
			}
		}
		for _, p := range []int{0, 1} {
			st, err := os.Stat(filepath.Join(c.DataDir(0), fmt.Sprintf("%s-%d", topic, p), "00000000000000000000.log"))
			if err != nil {
				t.Fatal(err)
			}
			if got := sizes[fmt.Sprintf("%s/%d", topic, p)]; got < st.Size() || got == 0 {
				t.Errorf("%s/%d: size %d, log file %d bytes", topic, p, got, st.Size())
			}
		}
		rt := kmsg.NewDescribeLogDirsRequestTopic()
		rt.Topic, rt.Partitions = topic, []int32{1}
		filtered := describeLogDirs(t, cl, []kmsg.DescribeLogDirsRequestTopic{rt})
		if ts := filtered.Dirs[0].Topics; len(ts) != 1 || len(ts[0].Partitions) != 1 || ts[0].Partitions[0].Partition != 1 {
			t.Errorf("filtered to %s/1: %+v", topic, ts)
		}
	})

	t.Run("offset delete", func(t *testing.T) { offsetDelete(t, c, topic) })

	t.Run("sluice partition delete-records", func(t *testing.T) {
		cmd := exec.CommandContext(testCtx(t), sluiceBinary(t), "--brokers", c.Addr(0), "-o", "json",
			"partition", "delete-records", topic, "-p", "1", "--offset", "-1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sluice partition delete-records: %v\n%s", err, out)
		}
		var got struct {
			Topic        string `json:"topic"`
			Partition    int32  `json:"partition"`
			LowWatermark int64  `json:"low_watermark"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		// Partition 1's high watermark, by ListOffsets latest.
		req := kmsg.NewPtrListOffsetsRequest()
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = 1, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		lo, err := req.RequestWith(testCtx(t), cl)
		if err != nil {
			t.Fatal(err)
		}
		if hw := lo.Topics[0].Partitions[0].Offset; got.Topic != topic || got.Partition != 1 || got.LowWatermark != hw || hw == 0 {
			t.Fatalf("delete-records answered %+v, high watermark %d", got, hw)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		_, body, err := c.HTTPGet(0, "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		for _, series := range []string{
			`sluice_kafka_requests_total{api="OffsetDelete",error="UNKNOWN_TOPIC_OR_PARTITION"} 1`,
			`sluice_kafka_requests_total{api="OffsetDelete",error="GROUP_ID_NOT_FOUND"} 1`,
			`sluice_kafka_requests_total{api="DescribeLogDirs",error="NONE"} 2`,
			`sluice_kafka_request_duration_seconds_count{api="Produce"}`,
			`sluice_kafka_request_duration_seconds_count{api="AddOffsetsToTxn"}`,
		} {
			if !strings.Contains(body, series) {
				t.Errorf("/metrics has no %s", series)
			}
		}
		if t.Failed() {
			for _, line := range strings.Split(body, "\n") {
				if strings.HasPrefix(line, "sluice_kafka_requests_total") {
					t.Log(line)
				}
			}
		}
	})

	t.Run("offline log dir", func(t *testing.T) {
		c.InjectFault(0, clustertest.Fault{Op: "write", Pattern: "*.log", Errno: "EIO"})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("doomed")}).FirstErr() // fails: the disk does
		clustertest.Await(t, waitTimeout, "the offline dir in DescribeLogDirs", func() error {
			if d := describeLogDirs(t, cl, nil).Dirs; len(d) != 1 || d[0].ErrorCode != 56 || len(d[0].Topics) != 0 {
				return fmt.Errorf("dirs %+v, want one with KAFKA_STORAGE_ERROR and no topics", d)
			}
			return nil
		})
	})
}

// describeLogDirs asks the node directly: kgo's sharded RequestWith
// merges the answers of all brokers and drops the dirs' error codes and
// volume sizes.
func describeLogDirs(t *testing.T, cl *kgo.Client, topics []kmsg.DescribeLogDirsRequestTopic) *kmsg.DescribeLogDirsResponse {
	t.Helper()
	req := kmsg.NewPtrDescribeLogDirsRequest()
	req.Topics = topics
	resp, err := cl.Broker(1).Request(testCtx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.(*kmsg.DescribeLogDirsResponse)
}

// addOffsetsFresh adds a group's offsets to a transaction on a node that
// has no __consumer_offsets yet: COORDINATOR_NOT_AVAILABLE (retriable)
// until the node created it, then NONE.
func addOffsetsFresh(t *testing.T, cl *kgo.Client) {
	ctx := testCtx(t)
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID, init.TransactionTimeoutMillis = kmsg.StringPtr("fresh-tx"), 60000
	var id kmsg.InitProducerIDResponse
	retry(t, "init producer id", func() (int16, error) {
		resp, err := init.RequestWith(ctx, cl)
		if err != nil {
			return 0, err
		}
		id = *resp
		return resp.ErrorCode, nil
	})
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = "fresh-tx", id.ProducerID, id.ProducerEpoch, "fresh-group"
	retry(t, "add offsets to txn", func() (int16, error) {
		resp, err := add.RequestWith(ctx, cl)
		if err != nil {
			return 0, err
		}
		return resp.ErrorCode, nil
	})
	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = "fresh-tx", id.ProducerID, id.ProducerEpoch, false
	retry(t, "end txn", func() (int16, error) {
		resp, err := end.RequestWith(ctx, cl)
		if err != nil {
			return 0, err
		}
		return resp.ErrorCode, nil
	})
}

// retry calls fn until it answers code 0, while it answers a retriable
// coordinator code (COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE,
// NOT_COORDINATOR, CONCURRENT_TRANSACTIONS), one of also, or a retriable
// error.
func retry(t *testing.T, what string, fn func() (int16, error), also ...int16) {
	t.Helper()
	clustertest.Await(t, waitTimeout, what, func() error {
		code, err := fn()
		switch {
		case err != nil && !kerr.IsRetriable(err):
			t.Fatalf("%s: %v", what, err)
		case err != nil:
			return err
		case code == 0:
			return nil
		case code == 14, code == 15, code == 16, code == 51, slices.Contains(also, code):
		default:
			t.Fatalf("%s: code %d", what, code)
		}
		return fmt.Errorf("code %d", code)
	})
}

// offsetDelete drives OffsetDelete against a kgo group consuming topic.
func offsetDelete(t *testing.T, c *clustertest.Cluster, topic string) {
	admin := newClient(t, c)
	// del asks in topic name order, so the first error (the metric's
	// label) is known.
	del := func(group string, topics map[string][]int32) *kmsg.OffsetDeleteResponse {
		t.Helper()
		req := kmsg.NewPtrOffsetDeleteRequest()
		req.Group = group
		for _, name := range slices.Sorted(maps.Keys(topics)) {
			rt := kmsg.NewOffsetDeleteRequestTopic()
			rt.Topic = name
			for _, p := range topics[name] {
				rp := kmsg.NewOffsetDeleteRequestTopicPartition()
				rp.Partition = p
				rt.Partitions = append(rt.Partitions, rp)
			}
			req.Topics = append(req.Topics, rt)
		}
		resp, err := req.RequestWith(testCtx(t), admin)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var r *kmsg.OffsetDeleteResponse
	retry(t, "offset delete of an unknown group", func() (int16, error) {
		r = del("nobody", map[string][]int32{topic: {0}})
		if r.ErrorCode == 69 { // GROUP_ID_NOT_FOUND: the answer wanted
			return 0, nil
		}
		return r.ErrorCode, nil
	})

	member, err := kgo.NewClient(kgo.SeedBrokers(c.Kafka(0)), kgo.ConsumerGroup("od"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	defer member.Close()
	for read := 0; read < 50; {
		f := member.PollFetches(testCtx(t))
		if err := f.Err(); err != nil {
			t.Fatal(err)
		}
		read += f.NumRecords()
	}
	if err := member.CommitUncommittedOffsets(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	r = del("od", map[string][]int32{topic: {0, 1}, "nosuchtopic": {0}})
	codes := map[string]int16{}
	for _, rt := range r.Topics {
		for _, p := range rt.Partitions {
			codes[fmt.Sprintf("%s/%d", rt.Topic, p.Partition)] = p.ErrorCode
		}
	}
	if want := fmt.Sprint(map[string]int16{topic + "/0": 86, topic + "/1": 86, "nosuchtopic/0": 3}); r.ErrorCode != 0 || fmt.Sprint(codes) != want {
		t.Fatalf("while consumed: code %d, partitions %v, want %s", r.ErrorCode, codes, want)
	}

	member.Close() // leaves the group: Empty
	retry(t, "offset delete in the empty group", func() (int16, error) {
		r := del("od", map[string][]int32{topic: {0}})
		if r.ErrorCode != 0 {
			return r.ErrorCode, nil
		}
		return r.Topics[0].Partitions[0].ErrorCode, nil
	}, 86) // until the coordinator saw the member leave
	fetch := kmsg.NewPtrOffsetFetchRequest()
	fetch.Group = "od"
	resp, err := fetch.RequestWith(testCtx(t), admin)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int32]int64{}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			got[p.Partition] = p.Offset
		}
	}
	if _, ok := got[0]; ok || got[1] <= 0 {
		t.Fatalf("committed after deleting partition 0: %v, want partition 1 only", got)
	}
}
