package handler

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

const errInvalidFetchSessionEpoch int16 = 71

// fetch answers a Fetch without a fetch session (KIP-227 sessions are not
// kept: every answer has session id 0, so clients send full fetches). It
// reads every partition at once; when that is less than min_bytes it asks
// the replicas again to park until data arrives or max_wait passes
// (capped by the replica's limits.fetch_max_wait) and answers with the
// first partition that has data. A response holds at most max_bytes of
// batches, and always the first partition's that has any.
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
	var parts []*kmsg.FetchResponseTopicPartition
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
	for i := range resp.Topics {
		for j := range resp.Topics[i].Partitions {
			parts = append(parts, &resp.Topics[i].Partitions[j])
		}
	}
	deadline := time.Now().Add(time.Duration(r.MaxWaitMillis) * time.Millisecond)
	answers := h.fetchAll(ctx, reqs, 0, 0)
	total, failed := 0, false
	for i, a := range answers {
		fillFetch(parts[i], a)
		total += len(parts[i].RecordBatches)
		failed = failed || parts[i].ErrorCode != 0
	}
	if wait := time.Until(deadline); total < int(r.MinBytes) && !failed && wait > 0 && len(reqs) > 0 {
		h.fetchParked(ctx, reqs, parts, wait)
	}
	if r.Version >= 3 && r.MaxBytes > 0 {
		limitFetch(parts, int(r.MaxBytes))
	}
	return resp
}

// fetchAll reads every partition with the given min_bytes and max_wait
// and returns the answers in order (nil for none).
func (h *Handler) fetchAll(ctx context.Context, reqs []*messages.FetchRequest, minBytes int32, wait time.Duration) []*messages.FetchResponse {
	futures := make([]actor.Future, len(reqs))
	for i, req := range reqs {
		futures[i] = h.send(withWait(req, minBytes, wait), wait+slack)
	}
	out := make([]*messages.FetchResponse, len(reqs))
	for i, f := range futures {
		if ctx.Err() != nil {
			break
		}
		a, err := await[*messages.FetchResponse](f, "fetch")
		if err != nil {
			h.cfg.Logger.Debug("kafka: fetch", "error", err)
			continue
		}
		out[i] = a
	}
	return out
}

// fetchParked asks every partition to wait for data and fills the
// partitions that answer first with data (or an error); the others keep
// their empty first answer.
func (h *Handler) fetchParked(ctx context.Context, reqs []*messages.FetchRequest, parts []*kmsg.FetchResponseTopicPartition, wait time.Duration) {
	type answer struct {
		i int
		a *messages.FetchResponse
	}
	ch := make(chan answer, len(reqs)) // every waiter can finish without a reader
	for i, req := range reqs {
		f := h.send(withWait(req, 1, wait), wait+slack)
		go func() {
			a, err := await[*messages.FetchResponse](f, "fetch")
			if err != nil {
				a = nil
			}
			ch <- answer{i, a}
		}()
	}
	for range reqs {
		select {
		case <-ctx.Done():
			return
		case got := <-ch:
			if got.a == nil {
				continue
			}
			if len(got.a.Records) > 0 || got.a.ErrorCode != messages.ErrorCode_NONE {
				fillFetch(parts[got.i], got.a)
				return
			}
		}
	}
}

// withWait is req with min_bytes and max_wait set.
func withWait(req *messages.FetchRequest, minBytes int32, wait time.Duration) *messages.FetchRequest {
	return &messages.FetchRequest{
		Topic: req.Topic, Partition: req.Partition, Offset: req.Offset, MaxBytes: req.MaxBytes,
		MinBytes: minBytes, MaxWaitMs: int32(wait / time.Millisecond),
		LeaderEpoch: req.LeaderEpoch, IsolationLevel: req.IsolationLevel,
	}
}

func fillFetch(rp *kmsg.FetchResponseTopicPartition, a *messages.FetchResponse) {
	if a == nil {
		rp.ErrorCode = errRequestTimedOut
		return
	}
	rp.ErrorCode = code(a.ErrorCode)
	rp.HighWatermark = a.HighWatermark
	rp.LastStableOffset = a.LastStableOffset
	rp.LogStartOffset = a.LogStartOffset
	if len(a.Records) > 0 {
		rp.RecordBatches = a.Records
	}
	rp.AbortedTransactions = nil
	for _, t := range a.AbortedTransactions {
		at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
		at.ProducerID, at.FirstOffset = t.ProducerId, t.FirstOffset
		rp.AbortedTransactions = append(rp.AbortedTransactions, at)
	}
}

// limitFetch drops the batches of partitions past max bytes, keeping the
// first partition with any so that a large batch is never stuck.
func limitFetch(parts []*kmsg.FetchResponseTopicPartition, max int) {
	total := 0
	for _, p := range parts {
		n := len(p.RecordBatches)
		if n == 0 {
			continue
		}
		if total > 0 && total+n > max {
			p.RecordBatches = []byte{}
			continue
		}
		total += n
	}
}
