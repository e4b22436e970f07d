package partition

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/segment"
)

// FileFetchRequest is a FetchRequest from an in-process caller that sends
// the batches itself from the segment file (the Kafka listener, with
// sendfile). The leader answers it like a FetchRequest, except that a
// successful answer is a *FileFetchResponse whose batches are a file
// range instead of bytes; errors come as a *messages.FetchResponse. It
// has no wire form: it is only ever sent to the node's own actors.
type FileFetchRequest struct {
	*messages.FetchRequest
}

// FileFetchResponse answers a FileFetchRequest: FetchResponse carries
// everything but the batches (Records is empty, aborted transactions are
// listed for read_committed) and Range holds the batches, below the high
// watermark (or the last stable offset for read_committed), with a
// descriptor of its own. The receiver owns Range and must Close it; an
// answer that nobody receives (its future timed out) is closed by the
// descriptor's finalizer.
type FileFetchResponse struct {
	*messages.FetchResponse
	Range segment.Range
}

// CancelFetch ends a parked fetch early: the leader answers the fetch
// whose answer goes to Waiter at once, without records. The Kafka
// listener sends it for the partitions still parked when a multi-partition
// fetch completed, so that they do not hold a parked slot until their
// max_wait. Like FileFetchRequest it is in-process only.
type CancelFetch struct {
	Topic     string
	Partition int32
	Waiter    *actor.PID
}

// handleCancelFetch answers the fetches parked for m.Waiter.
func (r *replica) handleCancelFetch(ctx actor.Context, m *CancelFetch) {
	for _, p := range r.parked.takeIf(func(v parkedRequest) bool { return v.sender.Equal(m.Waiter) }) {
		r.stopTimer(p.id)
		r.answerParkedEmpty(ctx, p)
	}
}

// fetchAnswer is the answer to a fetch that read resp and rng: a
// FileFetchResponse when files were asked for.
func fetchAnswer(resp *messages.FetchResponse, rng segment.Range, files bool) any {
	if files && resp.ErrorCode == messages.ErrorCode_NONE {
		return &FileFetchResponse{FetchResponse: resp, Range: rng}
	}
	_ = rng.Close()
	return resp
}

// fetchedBytes is the size of the batches a fetch read.
func fetchedBytes(resp *messages.FetchResponse, rng segment.Range) int {
	return len(resp.Records) + int(rng.Size)
}

// countFetch records an answered fetch in the metrics and stats.
func (r *replica) countFetch(resp *messages.FetchResponse, rng segment.Range, received time.Time) {
	r.cfg.Metrics.fetch(resp.ErrorCode.String(), fetchedBytes(resp, rng))
	r.stats.fetched(resp.Records)
	r.stats.fetchedRange(rng.Records, rng.Size)
	r.cfg.Metrics.requestDone(requestFetch, resp.ErrorCode, received)
}
