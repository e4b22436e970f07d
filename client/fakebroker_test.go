package client

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// fakeBroker is an in-memory broker living in the client's own actor
// system (a test process runs one remote only): a node actor and one
// replica actor per partition, reached by the same PIDs a real node's
// would have. It stores produced batches as they are, patching base
// offsets, and serves fetches with a long poll, so the client's batching,
// retries and decoding meet the wire format for real.
type fakeBroker struct {
	t      testing.TB
	c      *Client
	nodeID int32

	mu     sync.Mutex // guards the following
	topics map[string]*fakeTopic
	// produceErrs are answered, in order, to the next produce requests.
	produceErrs []messages.ErrorCode
	// produced counts produce requests and batches received.
	produced, producedBatches int
	maxRequestBytes           int
	noReplicas                bool // create topics without spawning replicas
	// holdProduce delays produce answers; outstanding counts requests
	// not answered yet and maxOutstanding its peak.
	holdProduce                 time.Duration
	outstanding, maxOutstanding int
	metadataRequests            int
	// Idempotence (fakeidem_test.go): InitProducerId requests seen and
	// the next id; produce hooks that lose answers.
	idem fakeIdem
	// stopped is set before the client closes; no answer is sent after.
	stopped bool

	actorsMu sync.Mutex   // guards actors
	actors   []*actor.PID // the node and replica actors, stopped before the client closes
}

type fakeTopic struct {
	configs map[string]string
	parts   []*fakeLog
}

type fakeLog struct {
	batches [][]byte
	next    int64
	parked  []parkedFetch
	fakeEpoch
	producers map[int64]*fakeProducer
}

type parkedFetch struct {
	to  *actor.PID
	req *messages.FetchRequest
}

// newFakeClient starts a client whose seed is a fake broker in its own
// actor system.
func newFakeClient(t testing.TB) (*Client, *fakeBroker) {
	t.Helper()
	c, err := start(Config{Seeds: []string{"127.0.0.1:1"}, RequestTimeout: 3 * time.Second,
		RetryBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	fb := &fakeBroker{t: t, c: c, nodeID: 1, topics: map[string]*fakeTopic{}}
	// Registered after c.Close, so it runs before: the fake answers
	// nothing once the client closes, as a broker's answers stop at the
	// client's closed remote.
	t.Cleanup(fb.stop)
	fb.spawn(messages.NodeActorID)
	c.cfg.Seeds = []string{c.Address()}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	return c, fb
}

func (fb *fakeBroker) receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.MetadataRequest:
		ctx.Respond(fb.metadata())
	case *messages.CreateTopicRequest:
		ctx.Respond(fb.createTopic(m))
	case *messages.InitProducerIdRequest:
		ctx.Respond(fb.initProducerID(m))
	case *messages.ProduceRequest:
		received := time.Now()
		res := fb.produce(m)
		switch {
		case res == nil: // an answer lost on purpose
		case m.GetAcks() == 0:
		case fb.hold() > 0:
			to := ctx.Sender()
			time.AfterFunc(fb.hold(), func() {
				fb.mu.Lock()
				defer fb.mu.Unlock()
				fb.outstanding--
				if !fb.stopped {
					fb.c.system.Root.Send(to, stampStages(res, received))
				}
			})
		default:
			ctx.Respond(stampStages(res, received))
		}
	case *messages.FetchRequest:
		if res := fb.fetch(m, ctx.Sender()); res != nil {
			ctx.Respond(res)
		}
	case *messages.ListOffsetsRequest:
		ctx.Respond(fb.listOffsets(m))
	case *messages.OffsetsForLeaderEpochRequest:
		ctx.Respond(fb.epochEnd(m))
	case *messages.PartitionStatusRequest:
		fb.mu.Lock()
		l := fb.log(m.GetTopic(), m.GetPartition())
		fb.mu.Unlock()
		ctx.Respond(&messages.PartitionStatusResponse{LogEndOffset: l.next, HighWatermark: l.next, Leader: true, NodeId: fb.nodeID})
	}
}

// stampStages gives a successful answer stage times as a leader would:
// append a fixed 1 µs, total the time since the request was received.
func stampStages(res *messages.ProduceResponse, received time.Time) *messages.ProduceResponse {
	if res.GetErrorCode() == messages.ErrorCode_NONE {
		res.BrokerAppendUs = 1
		res.BrokerTotalUs = max(time.Since(received).Microseconds(), 1)
	}
	return res
}

// parkedFetches is the number of fetches of topic/partition waiting for
// records.
func (fb *fakeBroker) parkedFetches(topic string, partition int32) int {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	return len(fb.log(topic, partition).parked)
}

// awaitParked waits until n fetches of topic/partition are parked.
func (fb *fakeBroker) awaitParked(t *testing.T, topic string, partition int32, n int) {
	t.Helper()
	waitFor(t, 10*time.Second, func() error {
		if got := fb.parkedFetches(topic, partition); got != n {
			return fmt.Errorf("%d fetches of %s/%d parked, want %d", got, topic, partition, n)
		}
		return nil
	})
}

func (fb *fakeBroker) hold() time.Duration {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	return fb.holdProduce
}

func (fb *fakeBroker) metadata() *messages.MetadataResponse {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	fb.metadataRequests++
	res := &messages.MetadataResponse{ClusterId: "fake", ControllerId: fb.nodeID,
		Brokers: []*messages.Broker{{NodeId: fb.nodeID, Address: fb.c.Address()}}}
	for name, t := range fb.topics {
		tm := &messages.TopicMetadata{Name: name, Configs: t.configs}
		for p := range t.parts {
			tm.Partitions = append(tm.Partitions, &messages.PartitionMetadata{Partition: int32(p), Leader: fb.nodeID,
				LeaderEpoch: t.parts[p].metaEpoch, Replicas: []int32{fb.nodeID}, Isr: []int32{fb.nodeID}})
		}
		res.Topics = append(res.Topics, tm)
	}
	return res
}

// addTopic creates a topic directly, spawning its replica actors.
func (fb *fakeBroker) addTopic(name string, partitions int, configs map[string]string) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	fb.addTopicLocked(name, partitions, configs)
}

func (fb *fakeBroker) addTopicLocked(name string, partitions int, configs map[string]string) {
	t := &fakeTopic{configs: configs}
	for p := 0; p < partitions; p++ {
		t.parts = append(t.parts, &fakeLog{})
		if !fb.noReplicas {
			fb.spawnReplica(name, int32(p))
		}
	}
	fb.topics[name] = t
}

func (fb *fakeBroker) spawnReplica(topic string, partition int32) {
	fb.spawn(messages.ReplicaActorID(topic, partition))
}

// spawnReplicaOnDeadLetter spawns the replica of topic/partition once a
// request to it was a dead letter, so the client meets a missing replica
// first, whenever it sends.
func (fb *fakeBroker) spawnReplicaOnDeadLetter(topic string, partition int32) {
	id := messages.ReplicaActorID(topic, partition)
	var once sync.Once
	sub := fb.c.system.EventStream.Subscribe(func(evt any) {
		if dl, ok := evt.(*actor.DeadLetterEvent); ok && dl.PID.GetId() == id {
			once.Do(func() { fb.spawn(id) })
		}
	})
	fb.t.Cleanup(func() { fb.c.system.EventStream.Unsubscribe(sub) })
}

func (fb *fakeBroker) spawn(id string) {
	pid, err := fb.c.system.Root.SpawnNamed(actor.PropsFromFunc(fb.receive), id)
	if err != nil {
		fb.t.Errorf("spawn %s: %v", id, err)
		return
	}
	fb.actorsMu.Lock()
	fb.actors = append(fb.actors, pid)
	fb.actorsMu.Unlock()
}

// stop ends the fake's answers: delayed ones are dropped and its actors
// stopped, so none is answering while the client closes.
func (fb *fakeBroker) stop() {
	fb.mu.Lock()
	fb.stopped = true
	fb.mu.Unlock()
	fb.actorsMu.Lock()
	pids := fb.actors
	fb.actorsMu.Unlock()
	for _, pid := range pids {
		if err := fb.c.system.Root.StopFuture(pid).Wait(); err != nil {
			fb.t.Errorf("stop %s: %v", pid.Id, err)
		}
	}
}

func (fb *fakeBroker) createTopic(m *messages.CreateTopicRequest) *messages.CreateTopicResponse {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if _, ok := fb.topics[m.GetName()]; ok {
		return &messages.CreateTopicResponse{ErrorCode: messages.ErrorCode_TOPIC_ALREADY_EXISTS, ErrorMessage: m.GetName()}
	}
	fb.addTopicLocked(m.GetName(), int(m.GetPartitions()), m.GetConfigs())
	return &messages.CreateTopicResponse{Topic: &messages.TopicMetadata{Name: m.GetName()}}
}

func (fb *fakeBroker) log(topic string, partition int32) *fakeLog {
	return fb.topics[topic].parts[partition]
}

func (fb *fakeBroker) produce(m *messages.ProduceRequest) *messages.ProduceResponse {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	fb.produced++
	if fb.holdProduce > 0 {
		fb.outstanding++
		fb.maxOutstanding = max(fb.maxOutstanding, fb.outstanding)
	}
	if len(m.GetRecords()) > fb.maxRequestBytes {
		fb.maxRequestBytes = len(m.GetRecords())
	}
	if len(fb.produceErrs) > 0 {
		code := fb.produceErrs[0]
		fb.produceErrs = fb.produceErrs[1:]
		return &messages.ProduceResponse{ErrorCode: code, ErrorMessage: "injected"}
	}
	if fb.idem.blackhole > 0 {
		fb.idem.blackhole--
		return nil
	}
	l := fb.log(m.GetTopic(), m.GetPartition())
	if code := l.checkEpoch("produce", m.GetLeaderEpoch()); code != messages.ErrorCode_NONE {
		return &messages.ProduceResponse{ErrorCode: code, ErrorMessage: "epoch"}
	}
	base := l.next
	buf := m.GetRecords()
	for len(buf) > 0 {
		h, b, rest, err := batch.Next(buf)
		if err != nil {
			return &messages.ProduceResponse{ErrorCode: messages.ErrorCode_CORRUPT_MESSAGE, ErrorMessage: err.Error()}
		}
		if dup, code := l.checkSequence(h); code != messages.ErrorCode_NONE {
			return &messages.ProduceResponse{ErrorCode: code, ErrorMessage: "sequence"}
		} else if dup >= 0 {
			fb.idem.duplicates++
			return &messages.ProduceResponse{BaseOffset: dup}
		}
		l.recordSequence(h, l.next)
		stored := append([]byte(nil), b...)
		batch.SetBaseOffset(stored, l.next)
		batch.SetPartitionLeaderEpoch(stored, l.epoch)
		l.batches = append(l.batches, stored)
		l.next += int64(h.RecordCount)
		fb.producedBatches++
		buf = rest
	}
	for _, p := range l.parked {
		fb.c.system.Root.Send(p.to, l.read(p.req))
	}
	l.parked = nil
	if fb.idem.dropAnswers > 0 {
		fb.idem.dropAnswers--
		return nil
	}
	if len(fb.idem.afterAppendErrs) > 0 {
		code := fb.idem.afterAppendErrs[0]
		fb.idem.afterAppendErrs = fb.idem.afterAppendErrs[1:]
		return &messages.ProduceResponse{ErrorCode: code, ErrorMessage: "injected after the append"}
	}
	return &messages.ProduceResponse{BaseOffset: base}
}

// read returns the batches from req's offset on, up to its max bytes but
// at least one.
func (l *fakeLog) read(req *messages.FetchRequest) *messages.FetchResponse {
	res := &messages.FetchResponse{HighWatermark: l.next}
	for _, b := range l.batches {
		h, _ := batch.ParseHeader(b)
		if h.LastOffset() < req.GetOffset() {
			continue
		}
		if len(res.Records) > 0 && len(res.Records)+len(b) > int(req.GetMaxBytes()) {
			break
		}
		res.Records = append(res.Records, b...)
	}
	return res
}

func (fb *fakeBroker) fetch(m *messages.FetchRequest, from *actor.PID) *messages.FetchResponse {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	l := fb.log(m.GetTopic(), m.GetPartition())
	if code := l.checkEpoch("fetch", m.GetLeaderEpoch()); code != messages.ErrorCode_NONE {
		return &messages.FetchResponse{ErrorCode: code, ErrorMessage: "epoch", HighWatermark: l.next}
	}
	if m.GetOffset() < 0 || m.GetOffset() > l.next {
		return &messages.FetchResponse{ErrorCode: messages.ErrorCode_OFFSET_OUT_OF_RANGE, HighWatermark: l.next}
	}
	if m.GetOffset() < l.next || m.GetMaxWaitMs() == 0 {
		return l.read(m)
	}
	l.parked = append(l.parked, parkedFetch{to: from, req: m})
	time.AfterFunc(time.Duration(m.GetMaxWaitMs())*time.Millisecond, func() {
		fb.mu.Lock()
		defer fb.mu.Unlock()
		for i, p := range l.parked {
			if p.req == m && !fb.stopped {
				l.parked = append(l.parked[:i], l.parked[i+1:]...)
				fb.c.system.Root.Send(from, &messages.FetchResponse{HighWatermark: l.next})
				return
			}
		}
	})
	return nil
}

func (fb *fakeBroker) listOffsets(m *messages.ListOffsetsRequest) *messages.ListOffsetsResponse {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	l := fb.log(m.GetTopic(), m.GetPartition())
	if code := l.checkEpoch("list-offsets", m.GetLeaderEpoch()); code != messages.ErrorCode_NONE {
		return &messages.ListOffsetsResponse{ErrorCode: code, ErrorMessage: "epoch", Offset: -1, Timestamp: -1}
	}
	switch m.GetTimestamp() {
	case EarliestTimestamp:
		return &messages.ListOffsetsResponse{Offset: 0}
	case LatestTimestamp:
		return &messages.ListOffsetsResponse{Offset: l.next}
	}
	for _, b := range l.batches {
		var found *batch.Record
		_ = batch.ForEach(b, func(r batch.Record) error {
			if found == nil && r.Timestamp >= m.GetTimestamp() {
				found = &batch.Record{Offset: r.Offset, Timestamp: r.Timestamp}
			}
			return nil
		})
		if found != nil {
			return &messages.ListOffsetsResponse{Offset: found.Offset, Timestamp: found.Timestamp}
		}
	}
	return &messages.ListOffsetsResponse{Offset: -1, Timestamp: -1}
}

// records decodes a partition's stored log.
func (fb *fakeBroker) records(topic string, partition int32) []batch.Record {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	var out []batch.Record
	for _, b := range fb.log(topic, partition).batches {
		_, recs, err := batch.Decode(b)
		if err != nil {
			fb.t.Fatalf("stored batch of %s/%d: %v", topic, partition, err)
		}
		out = append(out, recs...)
	}
	return out
}

func (fb *fakeBroker) String() string { return fmt.Sprintf("fake broker node %d", fb.nodeID) }
