package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/client/admin"
)

type consumeFlags struct {
	fromBeginning bool
	offset        int64
	offsetSet     bool
	fromTime      string
	at            time.Time
	exitAtEnd     bool
	partition     int32
	maxMessages   int
	printKey      bool
	keySep        string
	format        string
	idle          time.Duration
	group         string
	isolation     string
	level         client.IsolationLevel
}

func (a *app) consumeCommand() *cobra.Command {
	var f consumeFlags
	cmd := &cobra.Command{
		Use:   "consume TOPIC",
		Short: "Print records of a topic",
		Long: "consume prints records as they arrive: by default new records of every\n" +
			"partition, one value per line. It starts at the log end, the log start\n" +
			"(--from-beginning), an offset (--offset N), N records before the end\n" +
			"(--offset -N) or the first record at or after a time (--from-time). It stops\n" +
			"after --max-messages records, at the end of the partitions as they were at\n" +
			"its start (-e), after --timeout without a record, or on Ctrl-C.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.format != "text" && f.format != "json" {
				return usagef("--format %q: want text or json", f.format)
			}
			f.offsetSet = cmd.Flags().Changed("offset")
			if f.group != "" && (f.offsetSet || f.fromTime != "" || f.partition >= 0 || f.exitAtEnd) {
				return usagef("--group takes its partitions and offsets from the group: no --offset, --from-time, --partition or --exit-at-end")
			}
			starts := 0
			for _, set := range []bool{f.offsetSet, f.fromBeginning, f.fromTime != ""} {
				if set {
					starts++
				}
			}
			if starts > 1 {
				return usagef("--offset, --from-beginning and --from-time exclude each other")
			}
			if f.fromTime != "" {
				at, err := parseStartTime(f.fromTime, time.Now())
				if err != nil {
					return usagef("--from-time %q: %v", f.fromTime, err)
				}
				f.at = at
			}
			level, err := client.ParseIsolationLevel(f.isolation)
			if err != nil {
				return usageError{err}
			}
			f.level = level
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			if f.group != "" {
				return consumeGroup(cmd.Context(), c, a.stdout, args[0], f.group, f)
			}
			return consume(cmd.Context(), c, a.stdout, args[0], f)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&f.fromBeginning, "from-beginning", false, "start at the log start instead of the end")
	fs.Int64Var(&f.offset, "offset", 0, "start at this offset of every consumed partition; negative: this many records before the end (-10: the last ten)")
	fs.StringVar(&f.fromTime, "from-time", "", "start at the first record at or after this time: RFC 3339 (2026-01-02T15:04:05Z) or a duration ago (1h, 30m)")
	fs.BoolVarP(&f.exitAtEnd, "exit-at-end", "e", false, "stop at the end of the partitions as they were when consume started")
	fs.Int32VarP(&f.partition, "partition", "p", -1, "consume only this partition (-1: all)")
	fs.IntVar(&f.maxMessages, "max-messages", 0, "stop after this many records (0: no limit)")
	fs.BoolVar(&f.printKey, "print-key", false, "print the key before the value (text format)")
	fs.StringVar(&f.keySep, "key-separator", "\t", "separator between key and value (text format)")
	fs.StringVar(&f.format, "format", "text", "record format: text or json (one object per line)")
	fs.DurationVar(&f.idle, "timeout", 0, "stop after this long without a record (0: wait forever)")
	fs.StringVar(&f.group, "group", "", "consume as a member of this consumer group, committing what is printed")
	fs.StringVar(&f.isolation, "isolation", "read_uncommitted",
		"read_committed: only records of committed transactions, up to the last stable offset; read_uncommitted: all")
	return cmd
}

func consume(ctx context.Context, c *client.Client, out io.Writer, topic string, f consumeFlags) error {
	tps, err := partitionsOf(ctx, c, topic, f.partition)
	if err != nil {
		return err
	}
	cs, err := client.NewConsumer(c, client.ConsumerConfig{IsolationLevel: f.level})
	if err != nil {
		return err
	}
	defer func() { _ = cs.Close(context.Background()) }()
	cs.Assign(tps...)
	var ends map[client.TopicPartition]int64
	if f.exitAtEnd || (f.offsetSet && f.offset < 0) {
		if ends, err = endOffsets(ctx, c, tps); err != nil {
			return err
		}
	}
	for _, tp := range tps {
		switch {
		case f.offsetSet && f.offset >= 0:
			err = cs.Seek(tp, f.offset)
		case f.offsetSet:
			var start int64
			if start, _, err = c.ListOffsets(ctx, tp.Topic, tp.Partition, client.EarliestTimestamp); err == nil {
				err = cs.Seek(tp, max(start, ends[tp]+f.offset))
			}
		case f.fromBeginning:
			err = cs.SeekToBeginning(tp)
		case !f.at.IsZero():
			err = cs.SeekToTimestamp(tp, f.at)
		default:
			err = cs.SeekToEnd(tp)
		}
		if err != nil {
			return err
		}
	}
	var atEnd func(context.Context) (bool, error)
	if f.exitAtEnd {
		atEnd = func(ctx context.Context) (bool, error) { return reachedEnds(ctx, cs, ends) }
	}
	return printPolled(ctx, out, f, cs.Poll, atEnd, nil, nil)
}

// endOffsets returns the log end offset of each partition.
func endOffsets(ctx context.Context, c *client.Client, tps []client.TopicPartition) (map[client.TopicPartition]int64, error) {
	ends := make(map[client.TopicPartition]int64, len(tps))
	for _, tp := range tps {
		end, _, err := c.ListOffsets(ctx, tp.Topic, tp.Partition, client.LatestTimestamp)
		if err != nil {
			return nil, err
		}
		ends[tp] = end
	}
	return ends, nil
}

// reachedEnds reports whether the consumer's position is at or past the
// end offset of every partition.
func reachedEnds(ctx context.Context, cs *client.Consumer, ends map[client.TopicPartition]int64) (bool, error) {
	for tp, end := range ends {
		pos, err := cs.Position(ctx, tp)
		if err != nil {
			return false, err
		}
		if pos < end {
			return false, nil
		}
	}
	return true, nil
}

// parseStartTime reads --from-time: a time (see admin.ParseDatetime)
// or a duration before now.
func parseStartTime(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("want a positive duration ago, e.g. 1h")
		}
		return now.Add(-d), nil
	}
	t, err := admin.ParseDatetime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want RFC 3339 (e.g. 2026-01-02T15:04:05Z) or a duration ago (e.g. 1h)")
	}
	return t, nil
}

// endPollWait bounds one poll of consume -e, so that the end is checked
// although no record arrives.
const endPollWait = 200 * time.Millisecond

// printPolled prints what poll returns until --max-messages records are
// printed, poll was idle for --timeout, atEnd (when set) reports the end,
// or ctx is done (a normal way to stop). It calls onPrinted, when set, for
// each printed record and afterFlush, when set, each time a poll's records
// reached out.
func printPolled(ctx context.Context, out io.Writer, f consumeFlags, poll func(context.Context) ([]*client.Record, error),
	atEnd func(context.Context) (bool, error), onPrinted func(*client.Record), afterFlush func()) error {
	w := bufio.NewWriterSize(out, 64<<10)
	defer w.Flush()
	printed := 0
	idleSince := time.Now()
	for f.maxMessages == 0 || printed < f.maxMessages {
		if atEnd != nil {
			done, err := atEnd(ctx)
			if err != nil {
				return err
			}
			if done {
				return nil
			}
		}
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		switch wait := f.idle - time.Since(idleSince); {
		case atEnd != nil && (f.idle <= 0 || wait > endPollWait):
			pollCtx, cancel = context.WithTimeout(ctx, endPollWait)
		case f.idle > 0:
			pollCtx, cancel = context.WithTimeout(ctx, max(wait, 0))
		}
		recs, err := poll(pollCtx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted: a normal way to stop
			}
			if errors.Is(err, context.DeadlineExceeded) {
				if f.idle > 0 && time.Since(idleSince) >= f.idle {
					return nil // idle for --timeout
				}
				if atEnd != nil {
					continue // check the end again
				}
			}
			return err
		}
		idleSince = time.Now()
		for _, r := range recs {
			if f.maxMessages > 0 && printed >= f.maxMessages {
				break
			}
			if err := printRecord(w, r, f); err != nil {
				return err
			}
			if onPrinted != nil {
				onPrinted(r)
			}
			printed++
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if afterFlush != nil {
			afterFlush()
		}
	}
	return nil
}

// partitionsOf returns the partitions of topic to consume: partition, or
// every one when it is negative.
func partitionsOf(ctx context.Context, c *client.Client, topic string, partition int32) ([]client.TopicPartition, error) {
	var want []int32
	if partition >= 0 {
		want = []int32{partition}
	}
	return admin.TopicPartitions(ctx, c, topic, want)
}

// jsonRecord is the --format json form of a record. Keys, values and
// header values that are not UTF-8 text are base64 (standard encoding),
// flagged by key_encoding, value_encoding and header_encodings, as kcat
// and rpk print binary data; null keys and values are JSON null.
type jsonRecord struct {
	Topic           string            `json:"topic"`
	Partition       int32             `json:"partition"`
	Offset          int64             `json:"offset"`
	Timestamp       int64             `json:"timestamp"` // ms since the Unix epoch
	Key             *string           `json:"key"`
	KeyEncoding     string            `json:"key_encoding,omitempty"`
	Value           *string           `json:"value"`
	ValueEncoding   string            `json:"value_encoding,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	HeaderEncodings map[string]string `json:"header_encodings,omitempty"`
}

// base64Encoding is the encoding field of a base64 value.
const base64Encoding = "base64"

// jsonBytes maps nil (Kafka's null) to JSON null, text to itself and other
// bytes to base64, returning the encoding ("" for text).
func jsonBytes(b []byte) (*string, string) {
	if b == nil {
		return nil, ""
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, ""
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s, base64Encoding
}

func printRecord(w *bufio.Writer, r *client.Record, f consumeFlags) error {
	if f.format == "json" {
		jr := jsonRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp.UnixMilli()}
		jr.Key, jr.KeyEncoding = jsonBytes(r.Key)
		jr.Value, jr.ValueEncoding = jsonBytes(r.Value)
		if len(r.Headers) > 0 {
			jr.Headers = make(map[string]string, len(r.Headers))
			for _, h := range r.Headers {
				v, enc := jsonBytes(h.Value)
				jr.Headers[h.Key] = ""
				if v != nil {
					jr.Headers[h.Key] = *v
				}
				if enc != "" {
					if jr.HeaderEncodings == nil {
						jr.HeaderEncodings = map[string]string{}
					}
					jr.HeaderEncodings[h.Key] = enc
				}
			}
		}
		b, err := json.Marshal(jr)
		if err != nil {
			return err
		}
		w.Write(b)
		return w.WriteByte('\n')
	}
	if f.printKey {
		w.Write(r.Key)
		w.WriteString(f.keySep)
	}
	w.Write(r.Value)
	return w.WriteByte('\n')
}
