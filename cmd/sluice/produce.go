package main

import (
	"context"
	"errors"
	"fmt"
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
	var file, keySep, key string
	var headers []string
	var partition int32
	var maxLine, maxRequest int
	var skipBad bool
	var tf txnFlags
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Produce one record per line of stdin or --file",
		Long: "produce reads lines from stdin (or --file) and sends each as a record.\n" +
			"With --key-separator, the text before the first separator is the key; a\n" +
			"line without it fails the run (a --file is checked before anything is\n" +
			"sent) unless --skip-bad-lines. --key gives every record one key, --header\n" +
			"adds headers to every record. A record may be as large as\n" +
			"--max-request-bytes (and the topic's max.message.bytes).",
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
			if key != "" && keySep != "" {
				return usagef("--key and --key-separator exclude each other")
			}
			if maxRequest < 1024 {
				return usagef("--max-request-bytes %d: must be at least 1024", maxRequest)
			}
			if !cmd.Flags().Changed("max-line-bytes") {
				maxLine = maxRequest
			}
			hs, err := parseHeaders(headers)
			if err != nil {
				return err
			}
			format := lineFormat{topic: args[0], partition: partition, keySep: keySep, key: []byte(key),
				hasKey: cmd.Flags().Changed("key"), headers: hs, maxLine: maxLine, skipBad: skipBad, warn: a.stderr}
			if file != "" && keySep != "" && !skipBad {
				if err := checkFile(file, format); err != nil {
					return err
				}
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
			c, err := a.clientWith(cmd.Context(), func(cc *client.Config) { cc.MaxRequestBytes = maxRequest })
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			p, err := client.NewProducer(c, cfg)
			if err != nil {
				return err
			}
			var n int
			lines := newLineScanner(in, format)
			if tf.id != "" {
				n, err = produceTransactions(cmd.Context(), p, lines, tf.records)
			} else {
				n, err = produceLines(cmd.Context(), p, lines)
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
				return tooLargeHint(err)
			}
			if a.json() {
				return writeJSON(a.stdout, produceResult{Topic: args[0], Records: n, Skipped: lines.skipped})
			}
			fmt.Fprintf(a.stderr, "produced %s to %s\n", plural(n, "record"), args[0])
			if lines.skipped > 0 {
				fmt.Fprintf(a.stderr, "skipped %s without the key separator\n", plural(lines.skipped, "line"))
			}
			return nil
		},
	}
	pf.register(cmd, "1")
	cmd.Flags().StringVarP(&file, "file", "f", "", "read records from this file instead of stdin (shows progress)")
	cmd.Flags().StringVarP(&keySep, "key-separator", "K", "", "split each line into key and value at the first occurrence")
	cmd.Flags().StringVarP(&key, "key", "k", "", "key of every record")
	cmd.Flags().StringArrayVarP(&headers, "header", "H", nil, "header key=value of every record (repeatable)")
	cmd.Flags().BoolVar(&skipBad, "skip-bad-lines", false, "skip lines without the key separator (reported on stderr) instead of failing")
	cmd.Flags().Int32VarP(&partition, "partition", "p", client.AnyPartition, "partition to write to (-1: by key, sticky without key)")
	cmd.Flags().IntVar(&maxLine, "max-line-bytes", 0, "longest line accepted (default: --max-request-bytes)")
	cmd.Flags().IntVar(&maxRequest, "max-request-bytes", defaultMaxRequestBytes,
		"largest produce request, and so the largest record (the broker's max_request_bytes default)")
	tf.register(cmd)
	return cmd
}

// defaultMaxRequestBytes is the broker's default max_request_bytes: the
// CLI's records may be as large as a default broker accepts.
const defaultMaxRequestBytes = 8 << 20

// produceResult is produce's -o json answer.
type produceResult struct {
	Topic   string `json:"topic"`
	Records int    `json:"records"`
	Skipped int    `json:"skipped_lines"`
}

// checkFile checks every line of the file before anything is sent.
func checkFile(path string, f lineFormat) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	return checkLines(in, f)
}

// tooLargeHint adds the flags that raise the limit to a record-too-large
// error.
func tooLargeHint(err error) error {
	if errors.Is(err, client.ErrMessageTooLarge) {
		return fmt.Errorf("%w (raise --max-request-bytes, and the topic's max.message.bytes with topic alter -c)", err)
	}
	return err
}

// produceLines sends every line of in as a record and returns how many
// were acknowledged. It stops at the first failure.
func produceLines(ctx context.Context, p *client.Producer, lines *lineScanner) (int, error) {
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
	for rec := lines.next(); rec != nil; rec = lines.next() {
		if err := failed(); err != nil {
			break
		}
		if ctx.Err() != nil {
			return acked, ctx.Err()
		}
		p.ProduceAsync(ctx, rec, callback)
	}
	if lines.err != nil {
		return acked, lines.err
	}
	if err := p.Flush(ctx); err != nil {
		return acked, err
	}
	mu.Lock()
	defer mu.Unlock()
	return acked, firstErr
}
