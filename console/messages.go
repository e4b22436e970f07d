package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/client/admin"
)

// Bounds of the message browser.
const (
	defaultBrowseLimit = 50
	maxBrowseLimit     = 500
	// maxShownBytes is how much of a key or value a record carries; the
	// rest is cut (Record.ValueSize tells the whole size).
	maxShownBytes = 16 << 10
	// browseWait bounds the reading of one page of records.
	browseWait = 5 * time.Second
	// browseFetchBytes is the consumer's fetch size.
	browseFetchBytes = 1 << 20
)

// shownRecord is one record as the browser shows it. Key, value and
// header values are bytes (base64 in JSON); the page renders them as
// text, JSON or hex.
type shownRecord struct {
	Offset    int64         `json:"offset"`
	Timestamp int64         `json:"timestamp"` // ms since the epoch
	Key       []byte        `json:"key"`       // null for a null key
	Value     []byte        `json:"value"`
	KeySize   int           `json:"key_size"`
	ValueSize int           `json:"value_size"`
	Truncated bool          `json:"truncated,omitempty"`
	Headers   []shownHeader `json:"headers"`
}

type shownHeader struct {
	Key   string `json:"key"`
	Value []byte `json:"value"`
}

// page is one page of the browser.
type page struct {
	Topic          string        `json:"topic"`
	Partition      int32         `json:"partition"`
	LogStartOffset int64         `json:"log_start_offset"`
	HighWatermark  int64         `json:"high_watermark"`
	From           int64         `json:"from"` // offset of the first record asked for
	Next           int64         `json:"next"` // offset to read the next page from
	Records        []shownRecord `json:"records"`
}

// browse reads up to limit records of one partition from an offset, or
// from the first record at or after a timestamp, up to the high
// watermark.
func (c *Console) browse(ctx context.Context, cl *client.Client, r *http.Request) (any, error) {
	topic := r.PathValue("topic")
	if err := client.ValidateTopicName(topic); err != nil {
		return nil, err
	}
	partition, err := intParam(r, "partition", 0, 0, 1<<31-1)
	if err != nil {
		return nil, err
	}
	limit, err := intParam(r, "limit", defaultBrowseLimit, 1, maxBrowseLimit)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	if q.Get("offset") != "" && q.Get("timestamp") != "" {
		return nil, badRequest("give offset or timestamp, not both")
	}
	p := int32(partition)
	start, _, err := cl.ListOffsets(ctx, topic, p, client.EarliestTimestamp)
	if err != nil {
		return nil, err
	}
	end, _, err := cl.ListOffsets(ctx, topic, p, client.LatestTimestamp)
	if err != nil {
		return nil, err
	}
	from := start
	switch {
	case q.Get("timestamp") != "":
		ts, err := timestampParam(q.Get("timestamp"))
		if err != nil {
			return nil, err
		}
		off, _, err := cl.ListOffsets(ctx, topic, p, ts)
		if err != nil {
			return nil, err
		}
		from = off
		if off < 0 {
			from = end // no record that late
		}
	case q.Get("offset") != "":
		if from, err = intParam(r, "offset", 0, 0, 1<<63-1); err != nil {
			return nil, err
		}
		if from < start || from > end {
			return nil, badRequest("offset %d: outside the partition's log, %d to %d", from, start, end)
		}
	}
	out := page{Topic: topic, Partition: p, LogStartOffset: start, HighWatermark: end, From: from, Next: from, Records: []shownRecord{}}
	if from >= end {
		return out, nil
	}
	records, err := read(ctx, cl, client.TopicPartition{Topic: topic, Partition: p}, from, min(end, from+limit))
	if err != nil {
		return nil, err
	}
	for _, rec := range records {
		out.Records = append(out.Records, show(rec))
		out.Next = rec.Offset + 1
	}
	return out, nil
}

// read returns the records of tp from offset from up to (not including)
// until, or what arrived within browseWait.
func read(ctx context.Context, cl *client.Client, tp client.TopicPartition, from, until int64) ([]*client.Record, error) {
	cs, err := client.NewConsumer(cl, client.ConsumerConfig{FetchMaxBytes: browseFetchBytes, FetchMaxWait: 200 * time.Millisecond,
		AutoOffsetReset: client.ResetNone})
	if err != nil {
		return nil, err
	}
	defer func() { _ = cs.Close(context.WithoutCancel(ctx)) }()
	cs.Assign(tp)
	if err := cs.Seek(tp, from); err != nil {
		return nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, browseWait)
	defer cancel()
	var out []*client.Record
	for {
		batch, err := cs.Poll(waitCtx)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			// The rest of the range is gaps (compaction, transaction
			// markers) or still replicating: a page with what came.
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		for _, rec := range batch {
			if rec.Offset >= until {
				return out, nil
			}
			out = append(out, rec)
		}
		if len(out) > 0 && out[len(out)-1].Offset >= until-1 {
			return out, nil
		}
	}
}

// show cuts a record to what the browser shows.
func show(rec *client.Record) shownRecord {
	s := shownRecord{Offset: rec.Offset, Timestamp: rec.Timestamp.UnixMilli(), KeySize: len(rec.Key), ValueSize: len(rec.Value),
		Key: rec.Key, Value: rec.Value, Headers: []shownHeader{}}
	if len(s.Key) > maxShownBytes {
		s.Key, s.Truncated = s.Key[:maxShownBytes], true
	}
	if len(s.Value) > maxShownBytes {
		s.Value, s.Truncated = s.Value[:maxShownBytes], true
	}
	for _, h := range rec.Headers {
		v := h.Value
		if len(v) > maxShownBytes {
			v, s.Truncated = v[:maxShownBytes], true
		}
		s.Headers = append(s.Headers, shownHeader{Key: h.Key, Value: v})
	}
	return s
}

// timestampParam parses a timestamp: milliseconds since the epoch or a
// time admin.ParseDatetime reads.
func timestampParam(s string) (int64, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ms < 0 {
			return 0, badRequest("timestamp %q: want milliseconds since the epoch (>= 0) or RFC 3339", s)
		}
		return ms, nil
	}
	t, err := admin.ParseDatetime(s)
	if err != nil {
		return 0, badRequest("timestamp %q: want milliseconds since the epoch or RFC 3339 (2026-01-02T15:04:05Z; zone, seconds and time optional)", s)
	}
	return t.UnixMilli(), nil
}
