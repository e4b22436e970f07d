package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/broker"
	"github.com/sluice-mq/sluice/internal/flagerr"
	"github.com/sluice-mq/sluice/internal/version"
)

func main() {
	if err := newCommand().Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "sluiced: %v\n", err)
		os.Exit(1)
	}
}

type flags struct {
	config        string
	dataDir       string
	listen        string
	advertise     string
	kafka         string
	kafkaAdv      string
	kafkaZeroCopy bool
	http          string
	nodeID        int32
	logLevel      string
	consul        string
	checkTTL      time.Duration
	lagTime       time.Duration
	balance       bool
	imbalance     time.Duration
	autoBalance   bool
	settle        time.Duration
	throttle      int64
	recover       bool
	faults        bool
}

func newCommand() *cobra.Command {
	var f flags
	def := broker.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "sluiced",
		Short: "Run a Sluice broker node",
		Long: "sluiced runs one Sluice broker node: a partitioned commit log served over\n" +
			"protoactor remote, with an admin HTTP server for /healthz and /metrics.\n" +
			"Settings come from the defaults, then --config (YAML), then flags.",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, f)
			if err != nil {
				return err
			}
			return run(cfg)
		},
	}
	cmd.Version = version.Get().String("sluiced")
	cmd.SetVersionTemplate("{{.Version}}\n")
	cmd.SetFlagErrorFunc(flagerr.Describe)
	fs := cmd.Flags()
	fs.StringVar(&f.config, "config", "", "YAML config file (every setting; flags override it)")
	fs.StringVar(&f.dataDir, "data-dir", def.DataDir, "data directory (created if its parent exists)")
	fs.StringVar(&f.listen, "listen", def.Listen, "host:port of the actor remote (gRPC)")
	fs.StringVar(&f.advertise, "advertise", "", "host:port clients and other nodes use to reach the remote (default: --listen)")
	fs.StringVar(&f.http, "http", def.HTTP, "host:port of the admin HTTP server (/healthz, /metrics); empty disables it")
	fs.StringVar(&f.kafka, "kafka-listen", def.Kafka.Listen, "host:port of the Kafka protocol listener; empty disables it")
	fs.StringVar(&f.kafkaAdv, "kafka-advertise", "", "host:port Kafka clients use to reach this node (default: --kafka-listen)")
	fs.BoolVar(&f.kafkaZeroCopy, "kafka-zero-copy", def.Kafka.ZeroCopy, "send fetched batches to Kafka clients with sendfile(2); false copies them through memory")
	fs.Int32Var(&f.nodeID, "node-id", def.NodeID, "node id, unique in the cluster")
	fs.StringVar(&f.logLevel, "log-level", def.LogLevel, "log level: debug, info, warn or error")
	fs.DurationVar(&f.lagTime, "replica-lag-time", def.Replication.ReplicaLagTime, "a follower behind the leader this long leaves the ISR")
	fs.BoolVar(&f.balance, "auto-leader-rebalance", def.Leaders.AutoRebalance, "move leaderships back to preferred replicas when a node's imbalance passes leaders.imbalance_percent")
	fs.DurationVar(&f.imbalance, "leader-imbalance-check-interval", def.Leaders.ImbalanceCheckInterval, "how often the controller checks the leader imbalance")
	fs.BoolVar(&f.autoBalance, "auto-replica-balance", def.Balance.Auto, "move replicas onto nodes that hold less than their share and off decommissioned nodes (balance.auto)")
	fs.DurationVar(&f.settle, "balance-settle-delay", def.Balance.SettleDelay, "how long an imbalance must last before the controller moves replicas (balance.settle_delay)")
	fs.Int64Var(&f.throttle, "reassignment-throttle-bytes", def.Replication.ReassignmentThrottleBytes, "bytes/s this node's leaders push to replicas being added (0: no limit)")
	fs.StringVar(&f.consul, "consul", "", "host:port of the Consul agent: join that cluster (empty: run alone)")
	fs.BoolVar(&f.recover, "recover-metadata", false, "rebuild lost metadata (an empty store) from the replicas in the data dir, then start; see docs/CLUSTER.md")
	fs.DurationVar(&f.checkTTL, "consul-check-ttl", def.Consul.CheckTTL, "health check TTL: a node silent this long leaves the cluster")
	// A test hook, hidden from the help: POST /test/faults fails log I/O.
	fs.BoolVar(&f.faults, "test-fault-injection", false, "tests only: serve POST /test/faults, which fails log writes, fsyncs and renames")
	_ = fs.MarkHidden("test-fault-injection")
	return cmd
}

// loadConfig layers defaults, the config file and the flags set on the
// command line, and validates the result.
func loadConfig(cmd *cobra.Command, f flags) (broker.Config, error) {
	cfg := broker.DefaultConfig()
	nodeIDGiven := cmd.Flags().Changed("node-id")
	if f.config != "" {
		if err := cfg.LoadFile(f.config); err != nil {
			return cfg, err
		}
		given, err := fileSetsNodeID(f.config)
		if err != nil {
			return cfg, err
		}
		nodeIDGiven = nodeIDGiven || given
	}
	fs := cmd.Flags()
	if fs.Changed("data-dir") {
		cfg.DataDir = f.dataDir
	}
	if fs.Changed("listen") {
		cfg.Listen = f.listen
	}
	if fs.Changed("advertise") {
		cfg.Advertise = f.advertise
	}
	if fs.Changed("http") {
		cfg.HTTP = f.http
	}
	if fs.Changed("kafka-listen") {
		cfg.Kafka.Listen = f.kafka
	}
	if fs.Changed("kafka-advertise") {
		cfg.Kafka.Advertise = f.kafkaAdv
	}
	if fs.Changed("kafka-zero-copy") {
		cfg.Kafka.ZeroCopy = f.kafkaZeroCopy
	}
	if fs.Changed("node-id") {
		cfg.NodeID = f.nodeID
	}
	if fs.Changed("log-level") {
		cfg.LogLevel = f.logLevel
	}
	if fs.Changed("replica-lag-time") {
		cfg.Replication.ReplicaLagTime = f.lagTime
		cfg.Replication.RetryInterval = min(cfg.Replication.RetryInterval, f.lagTime)
	}
	if fs.Changed("auto-leader-rebalance") {
		cfg.Leaders.AutoRebalance = f.balance
	}
	if fs.Changed("auto-replica-balance") {
		cfg.Balance.Auto = f.autoBalance
	}
	if fs.Changed("balance-settle-delay") {
		cfg.Balance.SettleDelay = f.settle
	}
	if fs.Changed("reassignment-throttle-bytes") {
		cfg.Replication.ReassignmentThrottleBytes = f.throttle
	}
	if fs.Changed("leader-imbalance-check-interval") {
		cfg.Leaders.ImbalanceCheckInterval = f.imbalance
	}
	if fs.Changed("consul") {
		cfg.Consul.Address = f.consul
	}
	cfg.RecoverMetadata = f.recover
	cfg.FaultInjection = f.faults
	if fs.Changed("consul-check-ttl") {
		cfg.Consul.CheckTTL = f.checkTTL
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
