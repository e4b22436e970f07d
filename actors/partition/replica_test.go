package partition

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

const requestTimeout = 10 * time.Second

type harness struct {
	t      testing.TB
	system *actor.ActorSystem
	cfg    Config
	state  State
	opts   []actor.PropsOption
	pid    *actor.PID
}

// newHarness starts one replica (leader in epoch 0 on node 1) on a fresh
// directory; mutate adjusts its config first.
func newHarness(t testing.TB, mutate func(*Config, *State)) *harness {
	t.Helper()
	cfg := Config{
		Topic:       "orders",
		Partition:   0,
		NodeID:      1,
		Dir:         filepath.Join(t.TempDir(), "orders-0"),
		TopicConfig: metadata.DefaultTopicConfig(),
	}
	state := State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1}, ISR: []int32{1}}
	if mutate != nil {
		mutate(&cfg, &state)
	}
	quiet := slog.New(slog.DiscardHandler)
	cfg.Logger = quiet
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
	h := &harness{t: t, system: system, cfg: cfg, state: state}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) start() {
	h.t.Helper()
	pid, err := h.system.Root.SpawnNamed(Props(h.cfg, h.state, h.opts...), messages.ReplicaActorName(h.cfg.Topic, h.cfg.Partition))
	if err != nil {
		h.t.Fatal(err)
	}
	h.pid = pid
}

func (h *harness) stop() {
	if h.pid != nil {
		if err := h.system.Root.PoisonFuture(h.pid).Wait(); err != nil {
			h.t.Errorf("stop replica: %v", err)
		}
		h.pid = nil
	}
}

func request[T any](h *harness, msg any) T {
	h.t.Helper()
	res, err := h.system.Root.RequestFuture(h.pid, msg, requestTimeout).Result()
	if err != nil {
		h.t.Fatalf("request %T: %v", msg, err)
	}
	out, ok := res.(T)
	if !ok {
		h.t.Fatalf("request %T: got %T", msg, res)
	}
	return out
}

func (h *harness) produce(records []byte, acks int32) *messages.ProduceResponse {
	h.t.Helper()
	return request[*messages.ProduceResponse](h, &messages.ProduceRequest{
		Topic: h.cfg.Topic, Partition: h.cfg.Partition, Acks: acks, Records: records, LeaderEpoch: -1,
	})
}

func (h *harness) fetch(offset int64, minBytes, maxWaitMs int32) *messages.FetchResponse {
	h.t.Helper()
	return request[*messages.FetchResponse](h, &messages.FetchRequest{
		Topic: h.cfg.Topic, Partition: h.cfg.Partition, Offset: offset, MaxBytes: 1 << 20,
		MinBytes: minBytes, MaxWaitMs: maxWaitMs, LeaderEpoch: -1,
	})
}

func (h *harness) status() *messages.PartitionStatusResponse {
	h.t.Helper()
	return request[*messages.PartitionStatusResponse](h, &messages.PartitionStatusRequest{Topic: h.cfg.Topic})
}

// baseTime keeps test timestamps recent: ancient ones would make every
// append roll an aged segment and retention delete it.
var baseTime = time.Now().Add(-time.Hour).UnixMilli()

// encode builds one uncompressed batch of values with timestamp
// baseTime+ts.
func encode(t testing.TB, ts int64, values ...string) []byte {
	t.Helper()
	recs := make([]batch.Record, len(values))
	for i, v := range values {
		recs[i] = batch.Record{Timestamp: baseTime + ts, Value: []byte(v)}
	}
	b, err := batch.Encode(recs, batch.DefaultEncodeOptions())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// values decodes every record value in raw batches, with its offset.
func values(t *testing.T, raw []byte) []string {
	t.Helper()
	var out []string
	err := batch.ForEach(raw, func(r batch.Record) error {
		out = append(out, fmt.Sprintf("%d:%s", r.Offset, r.Value))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantCode(t *testing.T, got, want messages.ErrorCode, text string) {
	t.Helper()
	if got != want {
		t.Fatalf("error code %v (%s), want %v", got, text, want)
	}
}

func waitFor(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestReplicaProduceFetch(t *testing.T) {
	h := newHarness(t, nil)
	r1 := h.produce(encode(t, 1000, "a", "b", "c"), 1)
	wantCode(t, r1.ErrorCode, messages.ErrorCode_NONE, r1.ErrorMessage)
	r2 := h.produce(encode(t, 1000, "d"), -1)
	wantCode(t, r2.ErrorCode, messages.ErrorCode_NONE, r2.ErrorMessage)
	if r1.BaseOffset != 0 || r2.BaseOffset != 3 {
		t.Fatalf("base offsets %d, %d; want 0, 3", r1.BaseOffset, r2.BaseOffset)
	}
	f := h.fetch(0, 0, 0)
	wantCode(t, f.ErrorCode, messages.ErrorCode_NONE, f.ErrorMessage)
	if f.HighWatermark != 4 || f.LogStartOffset != 0 {
		t.Fatalf("hw %d log start %d, want 4 and 0", f.HighWatermark, f.LogStartOffset)
	}
	if got, want := fmt.Sprint(values(t, f.Records)), "[0:a 1:b 2:c 3:d]"; got != want {
		t.Fatalf("fetched %s, want %s", got, want)
	}
	// A fetch in the middle of a batch returns the whole batch; at the
	// end it returns nothing.
	if got := values(t, h.fetch(1, 0, 0).Records); len(got) != 4 {
		t.Fatalf("fetch at 1: %v", got)
	}
	if end := h.fetch(4, 0, 0); end.ErrorCode != messages.ErrorCode_NONE || len(end.Records) != 0 {
		t.Fatalf("fetch at end: %v %d bytes", end.ErrorCode, len(end.Records))
	}
	st := h.status()
	if st.LogEndOffset != 4 || st.HighWatermark != 4 || !st.Leader || st.SizeBytes == 0 || st.Segments != 1 {
		t.Fatalf("status %+v", st)
	}
}

func TestReplicaAcksZeroSend(t *testing.T) {
	h := newHarness(t, nil)
	h.system.Root.Send(h.pid, &messages.ProduceRequest{Topic: "orders", Acks: 0, Records: encode(t, 1, "x"), LeaderEpoch: -1})
	// Mailbox order: the fetch is handled after the append.
	if got := values(t, h.fetch(0, 0, 0).Records); fmt.Sprint(got) != "[0:x]" {
		t.Fatalf("fetched %v", got)
	}
}

func TestReplicaProduceErrors(t *testing.T) {
	h := newHarness(t, func(c *Config, s *State) {
		c.TopicConfig.MaxMessageBytes = 1024
		s.LeaderEpoch = 3
	})
	good := encode(t, 1, "ok")
	corrupt := encode(t, 1, "payload")
	corrupt[len(corrupt)-2] ^= 0xff
	badMagic := encode(t, 1, "magic")
	badMagic[16] = 1
	tests := []struct {
		name string
		req  *messages.ProduceRequest
		want messages.ErrorCode
	}{
		{"invalid acks", &messages.ProduceRequest{Acks: 2, Records: good, LeaderEpoch: -1}, messages.ErrorCode_INVALID_REQUIRED_ACKS},
		{"too large", &messages.ProduceRequest{Acks: 1, Records: encode(t, 1, string(make([]byte, 2000))), LeaderEpoch: -1}, messages.ErrorCode_MESSAGE_TOO_LARGE},
		{"too large among others", &messages.ProduceRequest{Acks: 1, Records: append(append([]byte{}, good...), encode(t, 1, string(make([]byte, 2000)))...), LeaderEpoch: -1}, messages.ErrorCode_MESSAGE_TOO_LARGE},
		{"bad crc", &messages.ProduceRequest{Acks: 1, Records: corrupt, LeaderEpoch: -1}, messages.ErrorCode_CORRUPT_MESSAGE},
		{"bad magic", &messages.ProduceRequest{Acks: 1, Records: badMagic, LeaderEpoch: -1}, messages.ErrorCode_CORRUPT_MESSAGE},
		{"truncated", &messages.ProduceRequest{Acks: 1, Records: good[:len(good)-3], LeaderEpoch: -1}, messages.ErrorCode_CORRUPT_MESSAGE},
		{"empty", &messages.ProduceRequest{Acks: 1, LeaderEpoch: -1}, messages.ErrorCode_INVALID_RECORD},
		{"stale epoch", &messages.ProduceRequest{Acks: 1, Records: good, LeaderEpoch: 2}, messages.ErrorCode_FENCED_LEADER_EPOCH},
		{"future epoch", &messages.ProduceRequest{Acks: 1, Records: good, LeaderEpoch: 4}, messages.ErrorCode_UNKNOWN_LEADER_EPOCH},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := request[*messages.ProduceResponse](h, tt.req)
			wantCode(t, resp.ErrorCode, tt.want, resp.ErrorMessage)
		})
	}
	// Nothing was appended; the current epoch works and is stamped.
	if st := h.status(); st.LogEndOffset != 0 {
		t.Fatalf("log end %d after refused produces", st.LogEndOffset)
	}
	resp := request[*messages.ProduceResponse](h, &messages.ProduceRequest{Acks: 1, Records: good, LeaderEpoch: 3})
	wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
	hdr, err := batch.ParseHeader(h.fetch(0, 0, 0).Records)
	if err != nil || hdr.PartitionLeaderEpoch != 3 {
		t.Fatalf("stored batch epoch %d (%v), want 3", hdr.PartitionLeaderEpoch, err)
	}
	fenced := request[*messages.FetchResponse](h, &messages.FetchRequest{Offset: 0, LeaderEpoch: 1})
	wantCode(t, fenced.ErrorCode, messages.ErrorCode_FENCED_LEADER_EPOCH, fenced.ErrorMessage)
}

func TestReplicaFetchOutOfRange(t *testing.T) {
	h := newHarness(t, nil)
	h.produce(encode(t, 1, "a", "b"), 1)
	for _, offset := range []int64{-1, 3, 100} {
		f := h.fetch(offset, 0, 0)
		wantCode(t, f.ErrorCode, messages.ErrorCode_OFFSET_OUT_OF_RANGE, f.ErrorMessage)
		if f.HighWatermark != 2 || f.LogStartOffset != 0 {
			t.Fatalf("offset %d: hw %d log start %d, want 2 and 0", offset, f.HighWatermark, f.LogStartOffset)
		}
	}
}

func TestReplicaLongPollWakesOnAppend(t *testing.T) {
	h := newHarness(t, nil)
	h.produce(encode(t, 1, "first"), 1)
	// Caught up at offset 1: the fetch parks until a produce arrives. Its
	// wait is far longer than the test, so only the append can answer it.
	pending := h.system.Root.RequestFuture(h.pid, &messages.FetchRequest{
		Offset: 1, MaxBytes: 1 << 20, MinBytes: 1, MaxWaitMs: 60_000, LeaderEpoch: -1,
	}, requestTimeout)
	// A second fetch needs more than one small batch.
	big := h.system.Root.RequestFuture(h.pid, &messages.FetchRequest{
		Offset: 1, MaxBytes: 1 << 20, MinBytes: 1 << 19, MaxWaitMs: 60_000, LeaderEpoch: -1,
	}, requestTimeout)
	h.produce(encode(t, 1, "second"), 1)
	res, err := pending.Result()
	if err != nil {
		t.Fatal(err)
	}
	f := res.(*messages.FetchResponse)
	if got := values(t, f.Records); fmt.Sprint(got) != "[1:second]" || f.HighWatermark != 2 {
		t.Fatalf("woken fetch got %v hw %d", got, f.HighWatermark)
	}
	h.produce(encode(t, 1, string(make([]byte, 1<<19))), 1)
	res, err = big.Result()
	if err != nil {
		t.Fatal(err)
	}
	if got := values(t, res.(*messages.FetchResponse).Records); len(got) != 2 {
		t.Fatalf("min_bytes fetch got %d records, want 2", len(got))
	}
}

func TestReplicaLongPollExpires(t *testing.T) {
	h := newHarness(t, nil)
	f := h.fetch(0, 1, 50)
	wantCode(t, f.ErrorCode, messages.ErrorCode_NONE, f.ErrorMessage)
	if len(f.Records) != 0 || f.HighWatermark != 0 {
		t.Fatalf("expired fetch: %d bytes hw %d", len(f.Records), f.HighWatermark)
	}
	// Partial data below min_bytes is returned on expiry.
	h.produce(encode(t, 1, "a"), 1)
	f = h.fetch(0, 1<<20, 50)
	if got := values(t, f.Records); fmt.Sprint(got) != "[0:a]" {
		t.Fatalf("expired partial fetch got %v", got)
	}
}

// A replica that stops answers its parked fetches empty, with the current
// offsets, instead of reading max_bytes for each of them: the consumer
// fetches the records again from the same offset.
func TestReplicaStopAnswersParkedFetchEmpty(t *testing.T) {
	h := newHarness(t, nil)
	h.produce(encode(t, 1, "a"), 1)
	parked := h.system.Root.RequestFuture(h.pid, &messages.FetchRequest{
		Offset: 0, MaxBytes: 1 << 20, MinBytes: 1 << 20, MaxWaitMs: 60_000, LeaderEpoch: -1,
	}, requestTimeout)
	h.status() // answered after the fetch: it is parked
	h.stop()
	res, err := parked.Result()
	if err != nil {
		t.Fatal(err)
	}
	f := res.(*messages.FetchResponse)
	wantCode(t, f.ErrorCode, messages.ErrorCode_NONE, f.ErrorMessage)
	if len(f.Records) != 0 || f.HighWatermark != 1 {
		t.Fatalf("parked fetch answered at stop: %d bytes, hw %d", len(f.Records), f.HighWatermark)
	}
}

func TestReplicaListOffsets(t *testing.T) {
	h := newHarness(t, nil)
	h.produce(encode(t, 1000, "a", "b"), 1) // offsets 0-1
	h.produce(encode(t, 2000, "c"), 1)      // offset 2
	h.produce(encode(t, 3000, "d", "e"), 1) // offsets 3-4
	tests := []struct {
		ts         int64
		wantOffset int64
		wantTS     int64
	}{
		{LatestTimestamp, 5, -1},
		{EarliestTimestamp, 0, -1},
		{0, 0, 1000},
		{1500, 2, 2000},
		{2000, 2, 2000},
		{2001, 3, 3000},
		{3001, -1, -1},
	}
	for _, tt := range tests {
		ts := tt.ts
		if ts >= 0 {
			ts += baseTime
		}
		if tt.wantTS >= 0 {
			tt.wantTS += baseTime
		}
		resp := request[*messages.ListOffsetsResponse](h, &messages.ListOffsetsRequest{Timestamp: ts, LeaderEpoch: -1})
		wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
		if resp.Offset != tt.wantOffset || resp.Timestamp != tt.wantTS {
			t.Fatalf("timestamp %d: offset %d ts %d, want %d %d", tt.ts, resp.Offset, resp.Timestamp, tt.wantOffset, tt.wantTS)
		}
	}
}

func TestReplicaFlushPolicies(t *testing.T) {
	for _, policy := range []metadata.FlushPolicy{metadata.FlushNever, metadata.FlushInterval, metadata.FlushAlways} {
		t.Run(string(policy), func(t *testing.T) {
			flusher := commitlog.NewFlusher(time.Millisecond)
			t.Cleanup(flusher.Close)
			h := newHarness(t, func(c *Config, _ *State) {
				c.TopicConfig.FlushPolicy = policy
				c.Flusher = flusher
			})
			for i := range 20 {
				resp := h.produce(encode(t, 1, fmt.Sprint(i)), 1)
				wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
				if resp.BaseOffset != int64(i) {
					t.Fatalf("base offset %d, want %d", resp.BaseOffset, i)
				}
				// The acknowledged record is committed: visible to fetches.
				if f := h.fetch(int64(i), 0, 0); len(values(t, f.Records)) != 1 {
					t.Fatalf("record %d not visible after ack (hw %d)", i, f.HighWatermark)
				}
			}
		})
	}
}

func TestReplicaRestartRecoversData(t *testing.T) {
	h := newHarness(t, nil)
	h.produce(encode(t, 1, "a", "b"), 1)
	h.stop()
	if _, err := os.Stat(filepath.Join(h.cfg.Dir, commitlog.CleanShutdownFile)); err != nil {
		t.Fatalf("no clean-shutdown marker after stop: %v", err)
	}
	h.start()
	h.produce(encode(t, 1, "c"), 1)
	if got := fmt.Sprint(values(t, h.fetch(0, 0, 0).Records)); got != "[0:a 1:b 2:c]" {
		t.Fatalf("after restart fetched %s", got)
	}
}

func TestReplicaFollowerRefusesThenLeads(t *testing.T) {
	h := newHarness(t, func(_ *Config, s *State) { s.Leader = 2 })
	resp := h.produce(encode(t, 1, "a"), 1)
	wantCode(t, resp.ErrorCode, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, resp.ErrorMessage)
	if st := h.status(); st.Leader {
		t.Fatal("follower reports itself leader")
	}
	// A parked fetch on the leader is answered when leadership moves away.
	h.system.Root.Send(h.pid, &UpdateState{State: State{Leader: 1, LeaderEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1}}})
	resp = h.produce(encode(t, 1, "a"), 1)
	wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
	parked := h.system.Root.RequestFuture(h.pid, &messages.FetchRequest{Offset: 1, MinBytes: 1, MaxWaitMs: 60_000, LeaderEpoch: -1}, requestTimeout)
	h.system.Root.Send(h.pid, &UpdateState{State: State{Leader: 2, LeaderEpoch: 2, Replicas: []int32{1, 2}, ISR: []int32{2}}})
	res, err := parked.Result()
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, res.(*messages.FetchResponse).ErrorCode, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, "")
}

func TestReplicaDeleteLog(t *testing.T) {
	h := newHarness(t, nil)
	h.produce(encode(t, 1, "a"), 1)
	parked := h.system.Root.RequestFuture(h.pid, &messages.FetchRequest{Offset: 1, MinBytes: 1, MaxWaitMs: 60_000, LeaderEpoch: -1}, requestTimeout)
	h.system.Root.Send(h.pid, &DeleteLog{})
	res, err := parked.Result()
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, res.(*messages.FetchResponse).ErrorCode, messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "")
	waitFor(t, 5*time.Second, func() error {
		if _, err := os.Stat(h.cfg.Dir); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("log dir still there: %v", err)
		}
		return nil
	})
	// The actor stopped itself: requests now dead-letter.
	waitFor(t, 5*time.Second, func() error {
		_, err := h.system.Root.RequestFuture(h.pid, &messages.PartitionStatusRequest{}, time.Second).Result()
		if !errors.Is(err, actor.ErrDeadLetter) {
			return fmt.Errorf("request after delete: %v, want dead letter", err)
		}
		return nil
	})
	h.pid = nil
}

func TestReplicaRetention(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *State) {
		c.TopicConfig.SegmentBytes = 1024
		c.TopicConfig.RetentionBytes = 2048
		c.RetentionCheckInterval = 20 * time.Millisecond
	})
	value := string(bytes.Repeat([]byte("v"), 600))
	for range 10 {
		resp := h.produce(encode(t, 0, value), 1)
		wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
	}
	waitFor(t, 10*time.Second, func() error {
		st := h.status()
		if st.LogStartOffset == 0 || st.SizeBytes > 4096 {
			return fmt.Errorf("retention not applied: %+v", st)
		}
		return nil
	})
	st := h.status()
	f := h.fetch(0, 0, 0)
	wantCode(t, f.ErrorCode, messages.ErrorCode_OFFSET_OUT_OF_RANGE, f.ErrorMessage)
	if f.LogStartOffset != st.LogStartOffset {
		t.Fatalf("out-of-range log start %d, status %d", f.LogStartOffset, st.LogStartOffset)
	}
	if got := values(t, h.fetch(st.LogStartOffset, 0, 0).Records); len(got) == 0 {
		t.Fatal("nothing readable at the new log start")
	}
}

// boom makes the panicking middleware of TestReplicaPanicRestarts panic.
type boom struct{}

func TestReplicaPanicRestartsWithLatestState(t *testing.T) {
	var starts atomic.Int32
	panicky := actor.WithReceiverMiddleware(func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			switch env.Message.(type) {
			case *boom:
				panic("boom")
			case *actor.Started:
				starts.Add(1)
			}
			next(c, env)
		}
	})
	h := newHarness(t, nil)
	h.stop()
	h.opts = []actor.PropsOption{panicky}
	h.start()
	h.produce(encode(t, 1, "a"), 1)
	// A newer epoch arrives, then the actor panics and is restarted by
	// the root's default supervisor.
	h.system.Root.Send(h.pid, &UpdateState{State: State{Leader: 1, LeaderEpoch: 5, Replicas: []int32{1}, ISR: []int32{1}}})
	h.system.Root.Send(h.pid, &boom{})
	waitFor(t, 5*time.Second, func() error {
		st := h.status()
		if st.LeaderEpoch != 5 || st.LogEndOffset != 1 || !st.Leader {
			return fmt.Errorf("after restart: %+v", st)
		}
		return nil
	})
	if n := starts.Load(); n != 2 {
		t.Fatalf("replica started %d times, want 2 (start and restart)", n)
	}
	resp := h.produce(encode(t, 1, "b"), 1)
	wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
	if resp.BaseOffset != 1 || resp.LeaderEpoch != 5 {
		t.Fatalf("produce after restart: base %d epoch %d", resp.BaseOffset, resp.LeaderEpoch)
	}
}
