package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// rawBrokerEnv names the broker TestAcceptanceRawBadInput talks to; the
// test runs only in the child process TestAcceptanceBadInput starts.
const rawBrokerEnv = "SLUICE_E2E_RAW_BROKER"

// TestAcceptanceBadInput sends bad input to one sluiced process. Each
// request is refused with a typed error naming the problem, and a produce
// and fetch on a healthy topic work right after it.
//
// Requests the client refuses before sending (invalid names, partition
// counts, records over the limit) and those it cannot build (a batch with
// a bad CRC) go over a raw actor remote in a child process: the test
// binary is run again for TestAcceptanceRawBadInput, since a second remote
// in this process, next to the client's, would race inside grpc.
func TestAcceptanceBadInput(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))

	cmd := exec.CommandContext(testCtx(t), os.Args[0], "-test.run=^TestAcceptanceRawBadInput$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), rawBrokerEnv+"="+c.Addr(0))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || !strings.Contains(out.String(), "--- PASS: TestAcceptanceRawBadInput") {
		t.Fatalf("raw requests: %v\n%s", err, out.String())
	}

	cl := newClient(t, c)
	ctx := testCtx(t)
	createTopic(t, cl, "healthy", 1, nil)
	createTopic(t, cl, "limited", 1, map[string]string{"max.message.bytes": "1024"})
	checkServing(t, cl, "healthy")
	p := newProducer(t, cl, client.ProducerConfig{Acks: client.AcksLeader})

	refusals := []struct {
		name string
		do   func() error
		want error
		text string // the error message names this
	}{
		{"produce to an unknown topic", func() error {
			_, _, err := p.Produce(ctx, client.NewRecord("missing", nil, []byte("v")))
			return err
		}, messages.ErrUnknownTopicOrPartition, "missing"},
		{"invalid topic name", func() error {
			_, err := cl.CreateTopic(ctx, "bad name!", 1, 1, nil)
			return err
		}, messages.ErrInvalidTopic, "bad name!"},
		{"zero partitions", func() error {
			_, err := cl.CreateTopic(ctx, "zero", 0, 1, nil)
			return err
		}, messages.ErrInvalidPartitions, "0 partitions"},
		{"negative partitions", func() error {
			_, err := cl.CreateTopic(ctx, "negative", -2, 1, nil)
			return err
		}, messages.ErrInvalidPartitions, "-2 partitions"},
		{"record over max.message.bytes", func() error {
			_, _, err := p.Produce(ctx, client.NewRecord("limited", nil, make([]byte, 4096)))
			return err
		}, messages.ErrMessageTooLarge, "limited"},
		{"malformed config value at create", func() error {
			_, err := cl.CreateTopic(ctx, "configured", 1, 1, map[string]string{"retention.ms": "soon"})
			return err
		}, messages.ErrInvalidConfig, "retention.ms"},
		{"malformed config value at alter", func() error {
			_, err := cl.AlterConfigs(ctx, "healthy", map[string]string{"flush.policy": "sometimes"}, nil)
			return err
		}, messages.ErrInvalidConfig, "flush.policy"},
		{"fetch beyond the log end", func() error {
			cs := newConsumer(t, cl, client.ConsumerConfig{AutoOffsetReset: client.ResetNone})
			tp := client.TopicPartition{Topic: "healthy", Partition: 0}
			cs.Assign(tp)
			if err := cs.Seek(tp, 1000); err != nil {
				return err
			}
			_, err := cs.Poll(ctx)
			var oor *client.OffsetOutOfRangeError
			if errors.As(err, &oor) && (oor.Offset != 1000 || oor.HighWatermark < 1 || oor.HighWatermark >= 1000) {
				t.Errorf("out of range error %+v, want offset 1000 past the high watermark", oor)
			}
			return err
		}, messages.ErrOffsetOutOfRange, "1000"},
	}
	for _, r := range refusals {
		err := r.do()
		if !errors.Is(err, r.want) || !strings.Contains(err.Error(), r.text) {
			t.Errorf("%s: %v, want %v naming %q", r.name, err, r.want, r.text)
		}
		checkServing(t, cl, "healthy")
	}
	checkLogAppendTime(t, cl)
	if _, err := cl.DescribeTopic(ctx, "configured"); !errors.Is(err, messages.ErrUnknownTopicOrPartition) {
		t.Errorf("a topic refused for its config exists: %v", err)
	}
	if d, err := cl.DescribeTopic(ctx, "healthy"); err != nil || d.Configs["flush.policy"] == "sometimes" {
		t.Errorf("healthy after a refused alter: %+v, %v", d.Configs, err)
	}
}

// TestAcceptanceRawBadInput is the raw half of TestAcceptanceBadInput,
// run in a child process with the broker's address in rawBrokerEnv.
func TestAcceptanceRawBadInput(t *testing.T) {
	addr := os.Getenv(rawBrokerEnv)
	if addr == "" {
		t.Skip("run by TestAcceptanceBadInput")
	}
	r := &rawBroker{t: t, cl: clustertest.NewClient(t), addr: addr}
	node := actor.NewPID(addr, messages.NodeActorID)
	r.create("raw-healthy", 1, nil).expect(messages.ErrorCode_NONE, "")
	r.create("raw-limited", 1, map[string]string{"max.message.bytes": "1024"}).expect(messages.ErrorCode_NONE, "")
	r.serving()

	good := encodeValues(t, []byte("a"), []byte("b"))
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-1] ^= 0xff // the CRC covers the records

	cases := []struct {
		name string
		res  coded
		want messages.ErrorCode
		text string
	}{
		{"invalid topic name", r.create("bad name!", 1, nil), messages.ErrorCode_INVALID_TOPIC_EXCEPTION, "bad name!"},
		{"dot dot", r.create("..", 1, nil), messages.ErrorCode_INVALID_TOPIC_EXCEPTION, ".."},
		{"zero partitions", r.create("zero", 0, nil), messages.ErrorCode_INVALID_PARTITIONS, "0"},
		{"negative partitions", r.create("negative", -1, nil), messages.ErrorCode_INVALID_PARTITIONS, "-1"},
		{"malformed config value", r.create("configured", 1, map[string]string{"segment.bytes": "big"}),
			messages.ErrorCode_INVALID_CONFIG, "segment.bytes"},
		{"unknown config key", r.create("configured", 1, map[string]string{"retention.msec": "1"}),
			messages.ErrorCode_INVALID_CONFIG, "retention.msec"},
		{"produce to an unknown topic", r.request(node, &messages.ProduceRequest{Topic: "missing", Acks: 1, Records: good, LeaderEpoch: -1}),
			messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "missing"},
		{"corrupt batch", r.produce("raw-healthy", corrupt), messages.ErrorCode_CORRUPT_MESSAGE, "crc"},
		{"truncated batch", r.produce("raw-healthy", good[:len(good)-3]), messages.ErrorCode_CORRUPT_MESSAGE, ""},
		{"batch over max.message.bytes", r.produce("raw-limited", encodeValues(t, make([]byte, 2000))),
			messages.ErrorCode_MESSAGE_TOO_LARGE, "1024"},
		{"fetch beyond the log end", r.request(r.replica("raw-healthy"), &messages.FetchRequest{Topic: "raw-healthy", Offset: 1000,
			MaxBytes: 1 << 20, LeaderEpoch: -1}), messages.ErrorCode_OFFSET_OUT_OF_RANGE, ""},
	}
	for _, c := range cases {
		c.res.expect(c.want, c.text)
		r.serving()
	}
	r.forgeries()
	r.topicCodec()

	// A deleted topic: its replica is gone and the node refuses produces.
	r.create("doomed", 1, nil).expect(messages.ErrorCode_NONE, "")
	r.request(node, &messages.DeleteTopicRequest{Name: "doomed"}).expect(messages.ErrorCode_NONE, "")
	r.request(node, &messages.ProduceRequest{Topic: "doomed", Acks: 1, Records: good, LeaderEpoch: -1}).
		expect(messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "doomed")
	r.serving()
}

// rawBroker sends protocol messages to one broker over the test client.
type rawBroker struct {
	t    *testing.T
	cl   *clustertest.Client
	addr string
}

// coded is a response's error code and message, checked by expect.
type coded struct {
	t    *testing.T
	what string
	code messages.ErrorCode
	msg  string
}

// expect fails the test unless the response carries code and its message
// contains text.
func (c coded) expect(code messages.ErrorCode, text string) {
	c.t.Helper()
	if c.code != code || !strings.Contains(c.msg, text) || (code != messages.ErrorCode_NONE && c.msg == "") {
		c.t.Errorf("%s: %v %q, want %v with a message naming %q", c.what, c.code, c.msg, code, text)
	}
}

func (r *rawBroker) replica(topic string) *actor.PID {
	return actor.NewPID(r.addr, messages.ReplicaActorID(topic, 0))
}

func (r *rawBroker) request(pid *actor.PID, msg any) coded {
	r.t.Helper()
	res := clustertest.Request[interface {
		GetErrorCode() messages.ErrorCode
		GetErrorMessage() string
	}](r.t, r.cl, pid, msg)
	return coded{t: r.t, what: fmt.Sprintf("%T", msg), code: res.GetErrorCode(), msg: res.GetErrorMessage()}
}

func (r *rawBroker) create(name string, partitions int32, configs map[string]string) coded {
	r.t.Helper()
	c := r.request(actor.NewPID(r.addr, messages.NodeActorID), &messages.CreateTopicRequest{
		Name: name, Partitions: partitions, ReplicationFactor: 1, Configs: configs,
	})
	c.what = "create " + name
	return c
}

func (r *rawBroker) produce(topic string, records []byte) coded {
	r.t.Helper()
	c := r.request(r.replica(topic), &messages.ProduceRequest{Topic: topic, Acks: 1, Records: records, LeaderEpoch: -1})
	c.what = "produce to " + topic
	return c
}

// serving produces a record to raw-healthy and fetches it back.
func (r *rawBroker) serving() { r.servingAt() }

// servingAt is serving, returning the offset the record was written at.
func (r *rawBroker) servingAt() int64 {
	r.t.Helper()
	value := []byte(time.Now().Format(time.RFC3339Nano))
	res := clustertest.Request[*messages.ProduceResponse](r.t, r.cl, r.replica("raw-healthy"), &messages.ProduceRequest{
		Topic: "raw-healthy", Acks: 1, Records: encodeValues(r.t, value), LeaderEpoch: -1,
	})
	if res.ErrorCode != messages.ErrorCode_NONE {
		r.t.Fatalf("produce to raw-healthy: %v %s", res.ErrorCode, res.ErrorMessage)
	}
	f := clustertest.Request[*messages.FetchResponse](r.t, r.cl, r.replica("raw-healthy"), &messages.FetchRequest{
		Topic: "raw-healthy", Offset: res.BaseOffset, MaxBytes: 1 << 20, LeaderEpoch: -1,
	})
	var got []string
	if err := batch.ForEach(f.Records, func(rec batch.Record) error {
		if rec.Offset == res.BaseOffset {
			got = append(got, string(rec.Value))
		}
		return nil
	}); err != nil || f.ErrorCode != messages.ErrorCode_NONE || len(got) != 1 || got[0] != string(value) {
		r.t.Fatalf("fetch raw-healthy at %d: %v %v %q", res.BaseOffset, f.ErrorCode, err, got)
	}
	return res.BaseOffset
}

func encodeValues(t *testing.T, values ...[]byte) []byte {
	t.Helper()
	recs := make([]batch.Record, len(values))
	for i, v := range values {
		recs[i] = batch.Record{Timestamp: time.Now().UnixMilli(), Value: v}
	}
	b, err := batch.Encode(recs, batch.DefaultEncodeOptions())
	if err != nil {
		t.Fatal(err)
	}
	return b
}
