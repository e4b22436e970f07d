package handler

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/actors/partition"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// fetchWait is Kafka's delayed fetch: it waits until the partitions
// together hold minBytes, one answers with an error, or the deadline
// passes, and keeps every partition's data (not only the first to get
// some). Each partition is parked in its replica until it has more than
// it already holds; one that grows is filled with the fresh answer and
// parked again, one that answers without growing (its replica's wait cap,
// or its max_bytes reached) is not. When the wait ends the partitions
// still parked are cancelled (partition.CancelFetch), and their answers
// released by a goroutine that ends with the last of them.
func (h *Handler) fetchWait(ctx context.Context, parts []*fetchPart, minBytes int, deadline time.Time) {
	type answer struct {
		i  int
		a  fetchAnswer
		ok bool
	}
	// A partition has at most one parked fetch: no sender ever blocks.
	ch := make(chan answer, len(parts))
	pending := 0
	waiters := make([]*actor.PID, len(parts)) // of the parked fetches
	park := func(i int) {
		wait := time.Until(deadline)
		if wait <= 0 {
			return
		}
		get, waiter := h.fetchOne(parts[i].req, int32(min(parts[i].size+1, 1<<31-1)), wait)
		waiters[i] = waiter
		pending++
		go func() {
			a, ok := get()
			ch <- answer{i, a, ok}
		}()
	}
	defer func() {
		for i, w := range waiters {
			if w != nil {
				h.cfg.Root.Send(h.cfg.Guardian, &partition.CancelFetch{Topic: parts[i].req.Topic, Partition: parts[i].req.Partition, Waiter: w})
			}
		}
		if pending > 0 {
			go func(n int) {
				for ; n > 0; n-- {
					(<-ch).a.close()
				}
			}(pending)
		}
	}()
	total := 0
	for i, p := range parts {
		total += p.size
		park(i)
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for pending > 0 && total < minBytes {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		case got := <-ch:
			pending--
			waiters[got.i] = nil
			if !got.ok {
				continue // no answer in time: keep what it had
			}
			p := parts[got.i]
			if got.a.resp.ErrorCode != messages.ErrorCode_NONE {
				total -= p.size
				p.fill(got.a)
				return // an error completes the fetch, as in Kafka
			}
			n := got.a.size()
			if n < p.size {
				got.a.close()
				continue
			}
			total += n - p.size
			grew := n > p.size
			p.fill(got.a) // fresher offsets even when no bigger
			if grew {
				park(got.i)
			}
		}
	}
}

// limitFetch applies a response's max_bytes (v3+) as Kafka does when it
// reads: the partitions, in request order, share the budget; each keeps
// the whole batches that fit in what is left (none once it is spent), and
// the first partition with batches keeps at least its first batch however
// large, so that a consumer never gets stuck behind a big batch.
func limitFetch(parts []*fetchPart, maxBytes int) {
	left, first := maxBytes, true
	for _, p := range parts {
		if p.size == 0 {
			continue
		}
		p.trim(left, first)
		if p.size > 0 {
			first = false
			left = max(0, left-p.size)
		}
	}
}

// trim keeps the partition's longest prefix of whole batches within
// budget (at least one with minOne) and drops the aborted transactions
// that start after what is kept.
func (p *fetchPart) trim(budget int, minOne bool) {
	if p.size <= budget {
		return
	}
	end := int64(-1) // offset after the kept batches
	if p.rng != nil {
		if err := p.rng.Shrink(int64(budget), minOne); err != nil || p.rng.File == nil {
			p.release() // truncated under us, or nothing fits: the client asks again
			return
		}
		p.size, end = int(p.rng.Size), p.rng.NextOffset
	} else {
		data := p.rp.RecordBatches
		n := 0
		for n+batch.HeaderSize <= len(data) {
			h, err := batch.ParseHeader(data[n:])
			if err != nil || n+h.Size() > len(data) || (n+h.Size() > budget && (n > 0 || !minOne)) {
				break
			}
			n += h.Size()
			end = h.NextOffset()
		}
		if n == 0 {
			p.release()
			return
		}
		p.rp.RecordBatches, p.size = data[:n], n
	}
	kept := p.rp.AbortedTransactions[:0]
	for _, at := range p.rp.AbortedTransactions {
		if at.FirstOffset < end {
			kept = append(kept, at)
		}
	}
	p.rp.AbortedTransactions = kept
}
