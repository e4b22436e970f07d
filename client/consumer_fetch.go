package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// maxBufferedFetches bounds the answered fetches a partition keeps before
// Poll decodes them; with FetchMaxBytes it bounds the consumer's memory.
const maxBufferedFetches = 2

// fetchResult is the outcome of one fetch.
type fetchResult struct {
	gen    uint64
	offset int64 // the fetched position
	res    *messages.FetchResponse
	err    error
	// next is the offset after the last whole batch of res, where the
	// next fetch starts; -1 when res is an error.
	next int64
}

// nextFetchOffset returns the offset after the last whole batch in
// records, or from when there is none. Only headers are read: checking
// CRCs and decoding is Poll's work.
func nextFetchOffset(records []byte, from int64) int64 {
	next := from
	for len(records) >= batch.HeaderSize {
		h, err := batch.ParseHeader(records)
		if err != nil || h.Size() > len(records) {
			break
		}
		next = max(next, h.NextOffset())
		records = records[h.Size():]
	}
	return next
}

// Poll returns the next records of the assigned partitions, waiting until
// some arrive or ctx ends (then it returns ctx's error, a timeout error
// matching context.DeadlineExceeded). Records of one partition come in
// offset order. Errors: *OffsetOutOfRangeError and *LogTruncationError
// under ResetNone,
// ErrNoOffset, and non-retriable broker errors; retriable ones (leader
// moved, broker restarting) are retried inside with backoff.
func (cs *Consumer) Poll(ctx context.Context) ([]*Record, error) {
	for {
		if err := cs.resolve(ctx, nil); err != nil {
			return nil, err
		}
		records, err := cs.drain()
		if err != nil || len(records) > 0 {
			cs.startFetches()
			return records, err
		}
		if err := cs.wait(ctx, cs.startFetches()); err != nil {
			return nil, err
		}
	}
}

// wait blocks until a fetch finishes, a partition's backoff of d is over
// (d > 0), or ctx ends.
func (cs *Consumer) wait(ctx context.Context, d time.Duration) error {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-cs.wake:
	case <-timer:
	case <-ctx.Done():
		return ctxError(ctx, "polling")
	case <-cs.c.ctx.Done():
		return ErrClosed
	}
	return nil
}

// resolve looks up the positions of partitions with a pending seek or
// reset (all assigned ones when tps is nil).
func (cs *Consumer) resolve(ctx context.Context, tps []TopicPartition) error {
	type lookup struct {
		cp  *consumerPartition
		gen uint64
		ts  int64
	}
	var todo []lookup
	cs.mu.Lock()
	if cs.closed {
		cs.mu.Unlock()
		return ErrClosed
	}
	if tps == nil {
		tps = cs.order
	}
	for _, tp := range tps {
		cp := cs.parts[tp]
		if cp == nil {
			continue
		}
		switch cp.reset {
		case resetEarliest:
			todo = append(todo, lookup{cp, cp.gen, EarliestTimestamp})
		case resetLatest:
			todo = append(todo, lookup{cp, cp.gen, LatestTimestamp})
		case resetTimestamp:
			todo = append(todo, lookup{cp, cp.gen, cp.timestamp})
		case resetNone:
			if cp.position < 0 && !cp.paused {
				cs.mu.Unlock()
				return fmt.Errorf("%w: %s/%d", ErrNoOffset, tp.Topic, tp.Partition)
			}
		}
	}
	cs.mu.Unlock()
	for _, l := range todo {
		offset, _, err := cs.c.ListOffsets(ctx, l.cp.tp.Topic, l.cp.tp.Partition, l.ts)
		if err == nil && offset < 0 { // no record at or after the timestamp
			offset, _, err = cs.c.ListOffsets(ctx, l.cp.tp.Topic, l.cp.tp.Partition, LatestTimestamp)
		}
		if err != nil {
			return err
		}
		cs.mu.Lock()
		if l.cp.gen == l.gen {
			l.cp.seek(resetNone, offset, 0)
		}
		cs.mu.Unlock()
	}
	return nil
}

// drain decodes the answered fetches of unpaused partitions.
func (cs *Consumer) drain() ([]*Record, error) {
	type work struct {
		cp       *consumerPartition
		results  []*fetchResult
		position int64
	}
	var todo []work
	cs.mu.Lock()
	for _, tp := range cs.order {
		cp := cs.parts[tp]
		if cp.paused || len(cp.results) == 0 {
			continue
		}
		todo = append(todo, work{cp, cp.results, cp.position})
		cp.results = nil
	}
	cs.mu.Unlock()

	var out []*Record
	var firstErr error
	for _, w := range todo {
		position := w.position
		for _, r := range w.results {
			recs, next, err := cs.decode(w.cp.tp, r, max(r.offset, position))
			cs.mu.Lock()
			if w.cp.gen != r.gen || cs.parts[w.cp.tp] != w.cp {
				cs.mu.Unlock()
				break // sought or unassigned meanwhile
			}
			err = cs.settle(w.cp, r, next, err)
			position = w.cp.position
			cs.mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			out = append(out, recs...)
		}
	}
	if firstErr != nil && len(out) == 0 {
		return nil, firstErr
	}
	// Records already decoded win; the error shows again on the next fetch.
	return out, nil
}

// settle applies a decoded fetch to cp: new position, reset or backoff.
// It returns the error Poll reports, nil for handled ones. Called with
// cs.mu held.
func (cs *Consumer) settle(cp *consumerPartition, r *fetchResult, next int64, err error) error {
	// realign restarts fetching at offset when the fetches queued or in
	// flight assumed r ended elsewhere (a batch that failed to decode).
	realign := func(offset int64) {
		if r.next != offset {
			cp.gen++
			cp.results = nil
			cp.fetchOffset = offset
		}
	}
	var oor *OffsetOutOfRangeError
	switch {
	case err == nil:
		cp.position = next
		if e := batchEpochAt(r.res.GetRecords(), next-1); e >= 0 {
			cp.posEpoch = e
		}
		cp.failures = 0
		realign(next)
		return nil
	case errors.As(err, &oor) && cs.cfg.AutoOffsetReset != ResetNone:
		kind := resetLatest
		if cs.cfg.AutoOffsetReset == ResetEarliest {
			kind = resetEarliest
		}
		cp.seek(kind, -1, 0)
		cs.notify() // Poll resolves the new position before waiting
		return nil
	}
	if r.next >= 0 {
		realign(cp.position) // the answer was fine, its batches were not
	}
	if !retriable(err) {
		return err
	}
	cp.failures++
	cp.retryAt = time.Now().Add(cs.c.cfg.backoff(cp.failures))
	if staleMetadata(err) || errors.Is(err, messages.ErrRequestTimedOut) {
		cs.c.refreshAsync()
	}
	if cp.failures <= cs.c.cfg.MaxRetries {
		return nil
	}
	// Persistent: tell the caller, and keep trying afterwards.
	cp.failures = 0
	return err
}

// decode turns a fetch answer into records at or after from, and returns
// the position after them: after the last whole batch when every batch
// decoded (a compacted batch may end after its last record), after the
// last good record otherwise.
func (cs *Consumer) decode(tp TopicPartition, r *fetchResult, from int64) ([]*Record, int64, error) {
	if r.err != nil {
		return nil, from, r.err
	}
	res := r.res
	if errors.Is(messages.ErrorForCode(res.GetErrorCode(), ""), messages.ErrOffsetOutOfRange) {
		return nil, from, &OffsetOutOfRangeError{Topic: tp.Topic, Partition: tp.Partition, Offset: r.offset,
			LogStartOffset: res.GetLogStartOffset(), HighWatermark: res.GetHighWatermark()}
	}
	if err := messages.ErrorForCode(res.GetErrorCode(), res.GetErrorMessage()); err != nil {
		return nil, from, fmt.Errorf("fetch %s/%d at %d: %w", tp.Topic, tp.Partition, r.offset, err)
	}
	data := res.GetRecords()
	next := from
	// One slab for the records. Uncompressed batches are used in place:
	// the response buffer belongs to this fetch alone. Records of
	// compressed batches alias a pooled decompression buffer, so their
	// bytes are copied into an arena.
	slab := make([]Record, 0, recordCount(data))
	var arena []byte
	copyBytes := anyCompressed(data)
	keep := func(b []byte) []byte {
		if b == nil || !copyBytes {
			return b
		}
		if cap(arena)-len(arena) < len(b) {
			arena = make([]byte, 0, max(len(b), 2*cap(arena), 64<<10))
		}
		start := len(arena)
		arena = append(arena, b...)
		return arena[start:len(arena):len(arena)]
	}
	err := forEachVisible(data, res.GetAbortedTransactions(), func(rec batch.Record) error {
		if rec.Offset < next {
			return nil // a fetch returns whole batches, starting before the position
		}
		out := Record{Topic: tp.Topic, Partition: tp.Partition, Offset: rec.Offset,
			Key: keep(rec.Key), Value: keep(rec.Value), Timestamp: time.UnixMilli(rec.Timestamp)}
		if len(rec.Headers) > 0 {
			out.Headers = make([]RecordHeader, len(rec.Headers))
			for i, h := range rec.Headers {
				out.Headers[i] = RecordHeader{Key: h.Key, Value: keep(h.Value)}
			}
		}
		slab = append(slab, out)
		next = rec.Offset + 1
		return nil
	})
	if err != nil && len(slab) == 0 {
		return nil, from, fmt.Errorf("fetch %s/%d at %d: %w: %w", tp.Topic, tp.Partition, r.offset,
			messages.ErrorForCode(messages.ErrorCode_CORRUPT_MESSAGE, "undecodable batch"), err)
	}
	if err == nil {
		next = nextFetchOffset(data, next)
	}
	// A corrupt batch after good ones: return the good records; the next
	// fetch starts at the bad batch and reports it.
	recs := make([]*Record, len(slab))
	for i := range slab {
		recs[i] = &slab[i]
	}
	return recs, next, nil
}

// minRecordBytes is the size of the smallest encoded record: length,
// attributes, timestamp delta, offset delta, key length, value length and
// header count, one byte each.
const minRecordBytes = 7

// recordCount is the number of records the whole batches in records
// declare, from the headers alone: the capacity of the decoded slab. The
// headers are not checked yet, so a batch counts for no more records than
// its bytes could hold uncompressed: a corrupt count cannot make the
// consumer allocate beyond its fetch size (a compressed batch holding
// more records grows the slab as it decodes).
func recordCount(records []byte) int {
	n := 0
	for len(records) >= batch.HeaderSize {
		h, err := batch.ParseHeader(records)
		if err != nil || h.Size() > len(records) || h.RecordCount < 0 {
			break
		}
		n += min(int(h.RecordCount), (h.Size()-batch.HeaderSize)/minRecordBytes)
		records = records[h.Size():]
	}
	return n
}

// anyCompressed reports whether a batch in records has a codec, from the
// headers alone.
func anyCompressed(records []byte) bool {
	for len(records) >= batch.HeaderSize {
		h, err := batch.ParseHeader(records)
		if err != nil {
			return true // let the copying path meet the error
		}
		if h.Attributes.Codec() != batch.CodecNone {
			return true
		}
		if h.Size() > len(records) {
			break
		}
		records = records[h.Size():]
	}
	return false
}

// startFetches issues a fetch for every partition ready for one and
// returns how long until the earliest partition in backoff is due (0 if
// none).
func (cs *Consumer) startFetches() time.Duration {
	type start struct {
		cp     *consumerPartition
		gen    uint64
		offset int64
	}
	var starts []start
	var wait time.Duration
	now := time.Now()
	cs.mu.Lock()
	if cs.closed {
		cs.mu.Unlock()
		return 0
	}
	// Fetches in flight or answered and not yet polled, against the
	// budget of FetchBufferBytes. A paused partition's answers wait for
	// its resume, not for Poll, so they do not hold the others back (each
	// partition buffers at most maxBufferedFetches).
	budget := max(2, int(cs.cfg.FetchBufferBytes/int64(max(cs.cfg.FetchMaxBytes, 1))))
	used := 0
	for _, cp := range cs.parts {
		if !cp.paused {
			used += len(cp.results)
		}
		if cp.fetching {
			used++
		}
	}
	n := len(cs.order)
	first := 0
	if n > 0 {
		first = cs.nextStart % n
	}
	for i := range n {
		if used >= budget {
			cs.nextStart = (first + i) % n // this partition goes first next time
			break
		}
		tp := cs.order[(first+i)%n]
		cp := cs.parts[tp]
		if cp.paused || cp.fetching || cp.reset != resetNone || cp.position < 0 {
			continue
		}
		if n := len(cp.results); n >= maxBufferedFetches || (n > 0 && cp.results[n-1].next < 0) {
			continue // buffer full, or an error waits for Poll to handle it
		}
		if d := cp.retryAt.Sub(now); d > 0 {
			if wait == 0 || d < wait {
				wait = d
			}
			continue
		}
		cp.fetching = true
		used++
		starts = append(starts, start{cp, cp.gen, cp.fetchOffset})
	}
	cs.mu.Unlock()
	for _, s := range starts {
		cs.fetch(s.cp, s.gen, s.offset)
	}
	return wait
}

// fetch sends one long-poll fetch; its answer is queued in cp.results and
// the next fetch starts right away when there is room.
func (cs *Consumer) fetch(cp *consumerPartition, gen uint64, offset int64) {
	epoch := int32(-1) // the leader epoch the fetch is sent in
	finish := func(res *messages.FetchResponse, err error) {
		r := &fetchResult{gen: gen, offset: offset, res: res, err: err, next: -1}
		if err == nil && res.GetErrorCode() == messages.ErrorCode_NONE {
			r.next = nextFetchOffset(res.GetRecords(), offset)
		}
		cs.mu.Lock()
		cp.fetching = false
		if cp.gen == gen {
			cp.results = append(cp.results, r)
			if r.next >= 0 {
				cp.fetchOffset = r.next
				cp.fetchEpoch = epoch
				if e := lastBatchEpoch(res.GetRecords()); e >= 0 {
					cp.lastEpoch = e
				}
			}
		}
		cs.mu.Unlock()
		cs.notify()
	}
	// The cached leader; a miss is a retriable error, not a wait here.
	part, err := cs.c.cachedPartition(cp.tp.Topic, cp.tp.Partition)
	if err != nil {
		finish(nil, err)
		return
	}
	epoch = part.epoch()
	cs.mu.Lock()
	validate, lastEpoch := cp.needsValidation(part), cp.lastEpoch
	cs.mu.Unlock()
	if validate {
		cs.validate(cp, gen, part, lastEpoch)
		return
	}
	req := &messages.FetchRequest{
		Topic:       cp.tp.Topic,
		Partition:   cp.tp.Partition,
		Offset:      offset,
		MaxBytes:    cs.cfg.FetchMaxBytes,
		MinBytes:    cs.cfg.FetchMinBytes,
		MaxWaitMs:   int32(cs.cfg.FetchMaxWait / time.Millisecond),
		LeaderEpoch: epoch,
		// read_committed: up to the last stable offset, with the aborted
		// transactions of the range (consumer_txn.go drops them).
		IsolationLevel: int32(cs.cfg.IsolationLevel),
	}
	timeout := cs.cfg.FetchMaxWait + cs.cfg.RequestTimeout
	err = cs.c.request(part.leader, req, timeout, func(v any, err error) {
		res, err := decodeResult[*messages.FetchResponse](v, err, part.leader, req, timeout)
		if errors.Is(err, errNoActor) {
			err = fmt.Errorf("%w: %w", messages.ErrorForCode(messages.ErrorCode_NOT_LEADER_OR_FOLLOWER,
				fmt.Sprintf("no replica of %s/%d at %s", cp.tp.Topic, cp.tp.Partition, part.leader.Address)), err)
		} else if err != nil && res != nil {
			err = nil // an error code in the response is decoded with it
		}
		finish(res, err)
		cs.startFetches() // prefetch while Poll decodes this answer
	})
	if err != nil {
		finish(nil, err)
	}
}
