package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sluice-mq/sluice/broker"
	"github.com/sluice-mq/sluice/internal/flagerr"
	"github.com/sluice-mq/sluice/internal/version"
)

func main() {
	if err := newDaemon().cmd.Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "sluiced: %v\n", err)
		os.Exit(1)
	}
}

// daemon is the sluiced command. Each settings flag is bound to its field
// of cfg; loadConfig layers the file under the flags given.
type daemon struct {
	cmd    *cobra.Command
	config string // --config
	cfg    broker.Config
}

func newDaemon() *daemon {
	d := &daemon{cfg: broker.DefaultConfig()}
	d.cmd = &cobra.Command{
		Use:   "sluiced",
		Short: "Run a Sluice broker node",
		Long: "sluiced runs one Sluice broker node: a partitioned commit log served over\n" +
			"protoactor remote, with an admin HTTP server for /healthz and /metrics.\n" +
			"Settings come from the defaults, then --config (YAML), then flags.",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := d.loadConfig()
			if err != nil {
				return err
			}
			return run(cfg)
		},
	}
	d.cmd.Version = version.Get().String("sluiced")
	d.cmd.SetVersionTemplate("{{.Version}}\n")
	d.cmd.SetFlagErrorFunc(flagerr.Describe)
	fs := d.cmd.Flags()
	c := &d.cfg
	fs.StringVar(&d.config, "config", "", "YAML config file (every setting; flags override it)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "data directory (created if its parent exists)")
	fs.StringVar(&c.Listen, "listen", c.Listen, "host:port of the actor remote (gRPC)")
	fs.StringVar(&c.Advertise, "advertise", c.Advertise, "host:port clients and other nodes use to reach the remote (default: --listen)")
	fs.StringVar(&c.HTTP, "http", c.HTTP, "host:port of the admin HTTP server (/healthz, /metrics); empty disables it")
	fs.StringVar(&c.Kafka.Listen, "kafka-listen", c.Kafka.Listen, "host:port of the Kafka protocol listener; empty disables it")
	fs.StringVar(&c.Kafka.Advertise, "kafka-advertise", c.Kafka.Advertise, "host:port Kafka clients use to reach this node (default: --kafka-listen)")
	fs.BoolVar(&c.Kafka.ZeroCopy, "kafka-zero-copy", c.Kafka.ZeroCopy, "send fetched batches to Kafka clients with sendfile(2); false copies them through memory")
	fs.Int32Var(&c.NodeID, "node-id", c.NodeID, "node id, unique in the cluster")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log level: debug, info, warn or error")
	fs.DurationVar(&c.Replication.ReplicaLagTime, "replica-lag-time", c.Replication.ReplicaLagTime, "a follower behind the leader this long leaves the ISR")
	fs.BoolVar(&c.Leaders.AutoRebalance, "auto-leader-rebalance", c.Leaders.AutoRebalance, "move leaderships back to preferred replicas when a node's imbalance passes leaders.imbalance_percent")
	fs.DurationVar(&c.Leaders.ImbalanceCheckInterval, "leader-imbalance-check-interval", c.Leaders.ImbalanceCheckInterval, "how often the controller checks the leader imbalance")
	fs.BoolVar(&c.Balance.Auto, "auto-replica-balance", c.Balance.Auto, "move replicas onto nodes that hold less than their share and off decommissioned nodes (balance.auto)")
	fs.DurationVar(&c.Balance.SettleDelay, "balance-settle-delay", c.Balance.SettleDelay, "how long an imbalance must last before the controller moves replicas (balance.settle_delay)")
	fs.Int64Var(&c.Replication.ReassignmentThrottleBytes, "reassignment-throttle-bytes", c.Replication.ReassignmentThrottleBytes, "bytes/s this node's leaders push to replicas being added (0: no limit)")
	fs.StringVar(&c.Consul.Address, "consul", c.Consul.Address, "host:port of the Consul agent: join that cluster (empty: run alone)")
	fs.BoolVar(&c.RecoverMetadata, "recover-metadata", false, "rebuild lost metadata (an empty store) from the replicas in the data dir, then start; see docs/CLUSTER.md")
	fs.DurationVar(&c.Consul.CheckTTL, "consul-check-ttl", c.Consul.CheckTTL, "health check TTL: a node silent this long leaves the cluster")
	// A test hook, hidden from the help: POST /test/faults fails log I/O.
	fs.BoolVar(&c.FaultInjection, "test-fault-injection", false, "tests only: serve POST /test/faults, which fails log writes, fsyncs and renames")
	_ = fs.MarkHidden("test-fault-injection")
	return d
}

// loadConfig layers the defaults, the config file and the flags given on
// the command line, and validates the result: it starts d.cfg over from
// the defaults, loads the file into it and sets each given flag again.
func (d *daemon) loadConfig() (broker.Config, error) {
	fs := d.cmd.Flags()
	given := make(map[string]string)
	fs.Visit(func(fl *pflag.Flag) { given[fl.Name] = fl.Value.String() })
	d.cfg = broker.DefaultConfig()
	nodeIDGiven := fs.Changed("node-id")
	if d.config != "" {
		if err := d.cfg.LoadFile(d.config); err != nil {
			return d.cfg, err
		}
		set, err := fileSetsNodeID(d.config)
		if err != nil {
			return d.cfg, err
		}
		nodeIDGiven = nodeIDGiven || set
	}
	for name, value := range given {
		if err := fs.Set(name, value); err != nil {
			return d.cfg, fmt.Errorf("--%s %q: %w", name, value, err)
		}
	}
	cfg := d.cfg
	if fs.Changed("replica-lag-time") {
		cfg.Replication.RetryInterval = min(cfg.Replication.RetryInterval, cfg.Replication.ReplicaLagTime)
	}
	if cfg.Clustered() && !nodeIDGiven {
		return cfg, fmt.Errorf("%w: cluster mode (consul %s) needs an explicit node id, unique in the cluster: --node-id or node_id",
			broker.ErrInvalidConfig, cfg.Consul.Address)
	}
	return cfg, cfg.Validate()
}

// fileSetsNodeID reports whether the config file sets node_id (the
// default 1 cannot be told from an explicit 1 after loading).
func fileSetsNodeID(path string) (bool, error) {
	probe := broker.Config{NodeID: -1}
	if err := probe.LoadFile(path); err != nil {
		return false, err
	}
	return probe.NodeID != -1, nil
}

// run starts the node and blocks until SIGINT or SIGTERM, then shuts down.
func run(cfg broker.Config) error {
	level, err := cfg.SlogLevel()
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)
	applyGC(cfg.GC, os.Getenv, logger)
	if limit, err := raiseFileLimit(); err != nil {
		logger.Warn("open-file limit", "limit", limit, "error", err)
	} else {
		logger.Debug("open-file limit", "limit", limit)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := broker.Start(ctx, cfg, logger)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return errors.New("interrupted during startup")
		}
		return err
	}
	<-ctx.Done()
	stop() // a second signal kills the process the default way
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped cleanly")
	return nil
}
