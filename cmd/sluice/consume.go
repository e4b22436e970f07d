package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/messages"
)

type consumeFlags struct {
	fromBeginning bool
	offset        int64
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
			"partition, one value per line. It stops after --max-messages records, after\n" +
			"--timeout without a record, or on Ctrl-C.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.format != "text" && f.format != "json" {
				return usagef("--format %q: want text or json", f.format)
			}
			if f.group != "" && (f.offset >= 0 || f.partition >= 0) {
				return usagef("--group takes its partitions and offsets from the group: no --offset or --partition")
			}
			if f.offset >= 0 && f.fromBeginning {
				return usagef("--offset and --from-beginning exclude each other")
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
	fs.Int64Var(&f.offset, "offset", -1, "start at this offset (of every consumed partition)")
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
	for _, tp := range tps {
		switch {
		case f.offset >= 0:
			err = cs.Seek(tp, f.offset)
		case f.fromBeginning:
			err = cs.SeekToBeginning(tp)
		default:
			err = cs.SeekToEnd(tp)
		}
		if err != nil {
			return err
		}
	}
	return printPolled(ctx, out, f, cs.Poll, nil, nil)
}

// printPolled prints what poll returns until --max-messages records are
// printed, poll was idle for --timeout, or ctx is done (a normal way to
// stop). It calls onPrinted, when set, for each printed record and
// afterFlush, when set, each time a poll's records reached out.
func printPolled(ctx context.Context, out io.Writer, f consumeFlags, poll func(context.Context) ([]*client.Record, error),
	onPrinted func(*client.Record), afterFlush func()) error {
	w := bufio.NewWriterSize(out, 64<<10)
	defer w.Flush()
	printed := 0
	for f.maxMessages == 0 || printed < f.maxMessages {
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if f.idle > 0 {
			pollCtx, cancel = context.WithTimeout(ctx, f.idle)
		}
		recs, err := poll(pollCtx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted: a normal way to stop
			}
			if f.idle > 0 && errors.Is(err, context.DeadlineExceeded) {
				return nil // idle for --timeout
			}
			return err
		}
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

// partitionsOf returns the partitions of topic to consume.
func partitionsOf(ctx context.Context, c *client.Client, topic string, partition int32) ([]client.TopicPartition, error) {
	topics, err := c.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range topics {
		if t.Name != topic {
			continue
		}
		if partition >= 0 {
			if int(partition) >= len(t.Partitions) {
				return nil, fmt.Errorf("%s/%d: %w", topic, partition, messages.ErrorForCode(
					messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, fmt.Sprintf("topic has %d partitions", len(t.Partitions))))
			}
			return []client.TopicPartition{{Topic: topic, Partition: partition}}, nil
		}
		tps := make([]client.TopicPartition, len(t.Partitions))
		for i, p := range t.Partitions {
			tps[i] = client.TopicPartition{Topic: topic, Partition: p.Partition}
		}
		return tps, nil
	}
	return nil, fmt.Errorf("topic %q: %w", topic, messages.ErrorForCode(messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "topic does not exist"))
}

// jsonRecord is the -format json form of a record.
type jsonRecord struct {
	Topic     string            `json:"topic"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Timestamp int64             `json:"timestamp"` // ms since the Unix epoch
	Key       *string           `json:"key"`
	Value     *string           `json:"value"`
	Headers   map[string]string `json:"headers,omitempty"`
}

// optString maps nil (Kafka's null) to JSON null.
func optString(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	if !utf8.ValidString(s) {
		s = fmt.Sprintf("%q", b)
	}
	return &s
}

func printRecord(w *bufio.Writer, r *client.Record, f consumeFlags) error {
	if f.format == "json" {
		jr := jsonRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp.UnixMilli(),
			Key: optString(r.Key), Value: optString(r.Value)}
		if len(r.Headers) > 0 {
			jr.Headers = make(map[string]string, len(r.Headers))
			for _, h := range r.Headers {
				jr.Headers[h.Key] = string(h.Value)
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
