package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
)

// producerFlags are the settings shared by produce and bench produce.
type producerFlags struct {
	acks        string
	compression string
	linger      time.Duration
	batchBytes  int
	maxInFlight int
	idempotent  bool
	// idempotentSet: --idempotent was given, so a conflicting --acks or
	// --max-in-flight is an error rather than turning idempotence off.
	idempotentSet func() bool
}

func (f *producerFlags) register(cmd *cobra.Command, defaultAcks string) {
	fs := cmd.Flags()
	fs.StringVar(&f.acks, "acks", defaultAcks, "acknowledgements: all (-1), 1 or 0")
	fs.StringVar(&f.compression, "compression", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	fs.DurationVar(&f.linger, "linger", client.DefaultLinger, "how long a batch waits for more records")
	fs.IntVar(&f.batchBytes, "batch-bytes", client.DefaultBatchBytes, "maximum batch size in bytes (uncompressed)")
	fs.IntVar(&f.maxInFlight, "max-in-flight", client.DefaultMaxInFlight, "unanswered requests per partition")
	fs.BoolVar(&f.idempotent, "idempotent", true,
		"idempotent producer (needs --acks all and --max-in-flight at most 5; off by default with other acks)")
	f.idempotentSet = func() bool { return fs.Changed("idempotent") }
}

func (f *producerFlags) config() (client.ProducerConfig, error) {
	acks, err := client.ParseAcks(f.acks)
	if err != nil {
		return client.ProducerConfig{}, usageError{err}
	}
	codec, err := client.ParseCodec(f.compression)
	if err != nil {
		return client.ProducerConfig{}, usageError{err}
	}
	if f.batchBytes <= 0 || f.maxInFlight <= 0 {
		return client.ProducerConfig{}, usagef("--batch-bytes and --max-in-flight must be positive")
	}
	linger := f.linger
	if linger == 0 {
		linger = -1 // "no linger" on the command line; 0 means the default in the config
	}
	idem := client.IdempotenceDefault
	switch {
	case !f.idempotent:
		idem = client.IdempotenceOff
	case f.idempotentSet != nil && f.idempotentSet():
		idem = client.IdempotenceOn
	}
	return client.ProducerConfig{Acks: acks, Idempotence: idem, Compression: codec, Linger: linger, BatchBytes: f.batchBytes,
		MaxInFlight: f.maxInFlight}, nil
}

func (a *app) produceCommand() *cobra.Command {
	var pf producerFlags
	var file, keySep string
	var partition int32
	var maxLine int
	var tf txnFlags
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Produce one record per line of stdin or --file",
		Long: "produce reads lines from stdin (or --file) and sends each as a record.\n" +
			"With --key-separator, the text before the first separator is the key.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tf.id != "" && !cmd.Flags().Changed("acks") {
				pf.acks = "all" // transactions need acks=all
			}
			cfg, err := pf.config()
			if err != nil {
				return err
			}
			if err := tf.apply(&cfg); err != nil {
				return err
			}
			in := a.stdin
			var bar *progressbar.ProgressBar
			if file != "" {
				f, err := os.Open(file)
				if err != nil {
					return err
				}
				defer f.Close()
				st, err := f.Stat()
				if err != nil {
					return err
				}
				bar = progressbar.NewOptions64(st.Size(),
					progressbar.OptionSetWriter(a.stderr),
					progressbar.OptionSetDescription("producing"),
					progressbar.OptionShowBytes(true),
					progressbar.OptionShowCount(),
					progressbar.OptionSetPredictTime(true),
					progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionOnCompletion(func() { fmt.Fprintln(a.stderr) }))
				r := progressbar.NewReader(f, bar)
				in = &r
			}
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			p, err := client.NewProducer(c, cfg)
			if err != nil {
				return err
			}
			var n int
			if tf.id != "" {
				n, err = produceTransactions(cmd.Context(), p, in, args[0], partition, keySep, maxLine, tf.records)
			} else {
				n, err = produceLines(cmd.Context(), p, in, args[0], partition, keySep, maxLine)
			}
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 2*a.timeout)
			defer cancel()
			if cerr := p.Close(closeCtx); err == nil {
				err = cerr
			}
			if bar != nil {
				_ = bar.Finish()
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "produced %s to %s\n", plural(n, "record"), args[0])
			return nil
		},
	}
	pf.register(cmd, "1")
	cmd.Flags().StringVarP(&file, "file", "f", "", "read records from this file instead of stdin (shows progress)")
	cmd.Flags().StringVar(&keySep, "key-separator", "", "split each line into key and value at the first occurrence")
	cmd.Flags().Int32VarP(&partition, "partition", "p", client.AnyPartition, "partition to write to (-1: by key, sticky without key)")
	cmd.Flags().IntVar(&maxLine, "max-line-bytes", 1<<20, "longest line accepted")
	tf.register(cmd)
	return cmd
}

// produceLines sends every line of in as a record and returns how many
// were acknowledged. It stops at the first failure.
func produceLines(ctx context.Context, p *client.Producer, in io.Reader, topic string, partition int32, keySep string, maxLine int) (int, error) {
	var mu sync.Mutex
	var firstErr error
	acked := 0
	callback := func(_ client.RecordMetadata, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil && firstErr == nil {
			firstErr = err
		} else if err == nil {
			acked++
		}
	}
	failed := func() error {
		mu.Lock()
		defer mu.Unlock()
		return firstErr
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	sep := []byte(keySep)
	// The producer copies key and value before ProduceAsync returns, so
	// one Record and the scanner's buffer serve every line.
	rec := &client.Record{Topic: topic, Partition: partition}
	for line := 1; sc.Scan(); line++ {
		if err := failed(); err != nil {
			break
		}
		if ctx.Err() != nil {
			return acked, ctx.Err()
		}
		text := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		rec.Key, rec.Value = nil, text
		if len(sep) > 0 {
			k, v, ok := bytes.Cut(text, sep)
			if !ok {
				return acked, fmt.Errorf("line %d: no key separator %q", line, keySep)
			}
			rec.Key, rec.Value = k, v
		}
		p.ProduceAsync(ctx, rec, callback)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("a line is longer than --max-line-bytes %d", maxLine)
		}
		return acked, err
	}
	if err := p.Flush(ctx); err != nil {
		return acked, err
	}
	mu.Lock()
	defer mu.Unlock()
	return acked, firstErr
}
