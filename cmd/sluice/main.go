package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/internal/flagerr"
	"github.com/sluice-mq/sluice/internal/version"
)

const defaultBrokers = "127.0.0.1:9650"

// gcPercent is the collector setting of the CLI unless GOGC is set: like
// the broker (gc.percent), a producer or consumer moves record bytes
// through a small live heap, and collecting at Go's default of 100 costs
// the one-partition consume a fifth of its rate (docs/benchmarks.md).
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := app.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "sluice: %s\n", describeError(err))
	var u usageError
	if errors.As(err, &u) || !app.parsed {
		return 2
	}
	return 1
}

// usageError marks a bad argument found after flag parsing.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// app holds the global flags and the streams of one invocation.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	brokers   string
	listen    string
	advertise string
	output    string
	timeout   time.Duration
	logLevel  string
	// parsed is set once flags parsed: errors after it are runtime
	// errors, not usage errors.
	parsed bool
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "Administer a Sluice cluster and produce and consume records",
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// Flags parsed: from here on a failure is not a usage problem.
			cmd.SilenceUsage = true
			a.parsed = true
			switch a.output {
			case "text", "json":
			default:
				return usagef("-o %q: want text or json", a.output)
			}
			return nil
		},
	}
	brokers := os.Getenv("SLUICE_BROKERS")
	if brokers == "" {
		brokers = defaultBrokers
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.brokers, "brokers", brokers, "seed brokers, host:port[,host:port...] (env SLUICE_BROKERS)")
	pf.StringVar(&a.listen, "client-listen", "", "interface the client's own remote listens on; brokers send answers there (default: the local address that routes to the first broker)")
	pf.StringVar(&a.advertise, "client-advertise", "", "host:port brokers reach the client at, when not the listen address (NAT, containers)")
	pf.StringVarP(&a.output, "output", "o", "text", "output format of listings: text or json")
	pf.DurationVar(&a.timeout, "request-timeout", 10*time.Second, "timeout of each request to a broker")
	pf.StringVar(&a.logLevel, "log-level", "error", "client log level on stderr: debug, info, warn or error")
	root.Version = version.Get().String("sluice")
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(flagerr.Describe)
	root.AddCommand(a.versionCommand(), a.nodeCommand(), a.topicCommand(), a.produceCommand(), a.consumeCommand(), a.clusterCommand(), a.benchCommand(),
		a.partitionCommand(), a.groupCommand(), a.txnCommand())
	a.addNameCompletion(root)
	return root
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if a.json() {
				return writeJSON(a.stdout, version.Get())
			}
			_, err := fmt.Fprintln(a.stdout, version.Get().String("sluice"))
			return err
		},
	}
}

// client connects to the cluster named by --brokers.
func (a *app) client(ctx context.Context) (*client.Client, error) {
	return a.clientWith(ctx, nil)
}

// clientWith is client with the config changed by adjust (when not nil).
func (a *app) clientWith(ctx context.Context, adjust func(*client.Config)) (*client.Client, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return nil, usagef("--log-level %q: %v", a.logLevel, err)
	}
	var seeds []string
	for _, s := range strings.Split(a.brokers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			seeds = append(seeds, s)
		}
	}
	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	bootCtx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	cfg := client.Config{Seeds: seeds, ListenHost: a.listen, AdvertiseAddr: a.advertise,
		RequestTimeout: a.timeout, Logger: logger}
	if adjust != nil {
		adjust(&cfg)
	}
	c, err := client.New(bootCtx, cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// closeClient closes c, waiting at most one request timeout: the command's
// work is done, so a slow shutdown is not worth an error.
func (a *app) closeClient(c *client.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	defer cancel()
	_ = c.Close(ctx)
}

// json reports whether -o json was asked for.
func (a *app) json() bool { return a.output == "json" }
