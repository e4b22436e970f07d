package handler

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/actors/partition"
	"github.com/sluice-mq/sluice/kafka/wire"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/segment"
)

const errInvalidFetchSessionEpoch int16 = 71

// fetchPart is one requested partition: its request, its place in the
// response and what fills it, bytes or (zero-copy) a file range.
type fetchPart struct {
	req  *messages.FetchRequest
	rp   *kmsg.FetchResponseTopicPartition
	rng  *segment.Range // owned: closed, or handed to the response
	size int            // bytes of batches, in RecordBatches or rng
}

// fetchAnswer is a replica's answer to one partition's fetch; rng is set
// for a zero-copy answer.
type fetchAnswer struct {
	resp *messages.FetchResponse
	rng  *segment.Range
}

func (a fetchAnswer) size() int {
	n := len(a.resp.Records)
	if a.rng != nil {
		n += int(a.rng.Size)
	}
	return n
}

func (a fetchAnswer) close() {
	if a.rng != nil {
		_ = a.rng.Close()
	}
}

// fetch answers a Fetch without a fetch session (KIP-227 sessions are not
// kept: every answer has session id 0, so clients send full fetches). It
// reads every partition at once; when that is less than min_bytes it
// waits, as Kafka's delayed fetch does, until the partitions together
// have min_bytes, one fails, or max_wait passes (capped by the replica's
// limits.fetch_max_wait), and answers with every partition's data. A
// response (v3+) holds at most max_bytes of batches, and always the first
// batch of the first partition with any (see limitFetch).
//
// With Config.ZeroCopy the replicas answer with file ranges instead of
// bytes and the response is a *wire.FileFetch, which the connection sends
// with sendfile; its meaning is the same byte for byte.
func (h *Handler) fetch(ctx context.Context, r *kmsg.FetchRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.FetchResponse)
	if r.Version >= 7 {
		if r.SessionID != 0 {
			resp.ErrorCode = errFetchSessionIDNotFound
			return resp
		}
		if r.SessionEpoch > 0 {
			resp.ErrorCode = errInvalidFetchSessionEpoch
			return resp
		}
	}
	var reqs []*messages.FetchRequest
	for _, t := range r.Topics {
		rt := kmsg.NewFetchResponseTopic()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.FetchResponseTopicPartition, len(t.Partitions))
		for j, p := range t.Partitions {
			rp := &rt.Partitions[j]
			rp.Default()
			rp.Partition = p.Partition
			rp.HighWatermark, rp.LastStableOffset, rp.LogStartOffset = -1, -1, -1
			rp.PreferredReadReplica = -1
			rp.RecordBatches = []byte{} // never null: librdkafka refuses a -1 size
			epoch := int32(-1)
			if r.Version >= 9 {
				epoch = p.CurrentLeaderEpoch
			}
			reqs = append(reqs, &messages.FetchRequest{
				Topic: t.Topic, Partition: p.Partition, Offset: p.FetchOffset,
				MaxBytes: p.PartitionMaxBytes, LeaderEpoch: epoch, IsolationLevel: int32(r.IsolationLevel),
			})
		}
		resp.Topics = append(resp.Topics, rt)
	}
	parts := make([]*fetchPart, 0, len(reqs))
	for i := range resp.Topics {
		for j := range resp.Topics[i].Partitions {
			parts = append(parts, &fetchPart{req: reqs[len(parts)], rp: &resp.Topics[i].Partitions[j]})
		}
	}
	deadline := time.Now().Add(time.Duration(r.MaxWaitMillis) * time.Millisecond)
	h.fetchAll(ctx, parts)
	total, failed := 0, false
	for _, p := range parts {
		total += p.size
		failed = failed || p.rp.ErrorCode != 0
	}
	if wait := time.Until(deadline); total < int(r.MinBytes) && !failed && wait > 0 && len(parts) > 0 {
		h.fetchWait(ctx, parts, int(r.MinBytes), deadline)
	}
	if ctx.Err() != nil {
		closeParts(parts)
		return nil // the connection is gone: nobody reads the answer
	}
	if r.Version >= 3 && r.MaxBytes > 0 {
		limitFetch(parts, int(r.MaxBytes))
	}
	return fetchResponse(resp, parts)
}

// fetchAll reads every partition without waiting and fills parts.
func (h *Handler) fetchAll(ctx context.Context, parts []*fetchPart) {
	futures := make([]func() (fetchAnswer, bool), len(parts))
	for i, p := range parts {
		futures[i], _ = h.fetchOne(p.req, 0, 0)
	}
	for i, wait := range futures {
		a, ok := wait()
		if !ok || ctx.Err() != nil {
			a.close()
			if !ok {
				parts[i].rp.ErrorCode = errRequestTimedOut
			}
			continue
		}
		parts[i].fill(a)
	}
}

// fetchOne sends one partition's fetch with the given min_bytes and
// max_wait and returns the function that waits for its answer (ok is
// false when there was none in time) and the PID the answer goes to.
func (h *Handler) fetchOne(req *messages.FetchRequest, minBytes int32, wait time.Duration) (func() (fetchAnswer, bool), *actor.PID) {
	msg := any(withWait(req, minBytes, wait))
	if h.cfg.ZeroCopy {
		msg = &partition.FileFetchRequest{FetchRequest: msg.(*messages.FetchRequest)}
	}
	f := h.send(msg, wait+slack)
	return func() (fetchAnswer, bool) {
		res, err := f.Result()
		if err != nil {
			h.cfg.Logger.Debug("kafka: fetch", "topic", req.Topic, "partition", req.Partition, "error", err)
			return fetchAnswer{}, false
		}
		switch a := res.(type) {
		case *partition.FileFetchResponse:
			rng := a.Range
			return fetchAnswer{resp: a.FetchResponse, rng: &rng}, true
		case *messages.FetchResponse:
			return fetchAnswer{resp: a}, true
		}
		h.cfg.Logger.Debug("kafka: fetch", "topic", req.Topic, "partition", req.Partition, "answer", res)
		return fetchAnswer{}, false
	}, f.PID()
}

// withWait is req with min_bytes and max_wait set.
func withWait(req *messages.FetchRequest, minBytes int32, wait time.Duration) *messages.FetchRequest {
	return &messages.FetchRequest{
		Topic: req.Topic, Partition: req.Partition, Offset: req.Offset, MaxBytes: req.MaxBytes,
		MinBytes: minBytes, MaxWaitMs: int32(wait / time.Millisecond),
		LeaderEpoch: req.LeaderEpoch, IsolationLevel: req.IsolationLevel,
	}
}

// fill sets the partition from a (taking its range), releasing what it
// held before.
func (p *fetchPart) fill(a fetchAnswer) {
	p.release()
	rp := p.rp
	rp.ErrorCode = code(a.resp.ErrorCode)
	rp.HighWatermark = a.resp.HighWatermark
	rp.LastStableOffset = a.resp.LastStableOffset
	rp.LogStartOffset = a.resp.LogStartOffset
	if len(a.resp.Records) > 0 {
		rp.RecordBatches = a.resp.Records
	}
	if a.rng != nil && a.rng.Size > 0 {
		p.rng = a.rng
	} else {
		a.close()
	}
	p.size = a.size()
	rp.AbortedTransactions = nil
	for _, t := range a.resp.AbortedTransactions {
		at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
		at.ProducerID, at.FirstOffset = t.ProducerId, t.FirstOffset
		rp.AbortedTransactions = append(rp.AbortedTransactions, at)
	}
}

// release drops the partition's batches.
func (p *fetchPart) release() {
	if p.rng != nil {
		_ = p.rng.Close()
		p.rng = nil
	}
	p.rp.RecordBatches = []byte{}
	p.size = 0
}

func closeParts(parts []*fetchPart) {
	for _, p := range parts {
		p.release()
	}
}

// fetchResponse is resp, or a *wire.FileFetch holding resp and the file
// ranges of the partitions that have them.
func fetchResponse(resp *kmsg.FetchResponse, parts []*fetchPart) kmsg.Response {
	var files map[*kmsg.FetchResponseTopicPartition]wire.FileBatches
	for _, p := range parts {
		if p.rng == nil {
			continue
		}
		if files == nil {
			files = make(map[*kmsg.FetchResponseTopicPartition]wire.FileBatches)
		}
		files[p.rp] = p.rng
		p.rng = nil // the response owns it now
	}
	if files == nil {
		return resp
	}
	return &wire.FileFetch{FetchResponse: resp, Files: files}
}
