package partition

import (
	"time"

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
