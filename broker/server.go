package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sluice-mq/sluice/actors/group"
	"github.com/sluice-mq/sluice/actors/node"
	"github.com/sluice-mq/sluice/actors/partition"
	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/controller"
	"github.com/sluice-mq/sluice/cluster/identity"
	"github.com/sluice-mq/sluice/cluster/local"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/console"
	"github.com/sluice-mq/sluice/kafka/handler"
	kafkaserver "github.com/sluice-mq/sluice/kafka/server"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/replication"
	"github.com/sluice-mq/sluice/storage/cleaner"
	"github.com/sluice-mq/sluice/storage/commitlog"
	"github.com/sluice-mq/sluice/storage/vfs"
)

// Timeouts of the node's own requests to its guardian.
const (
	readyTimeout       = 10 * time.Second
	readyPollInterval  = 20 * time.Millisecond
	remoteStopTimeout  = 500 * time.Millisecond
	metadataDirName    = "metadata"
	guardianAskTimeout = time.Second
)

// ErrDataDir is wrapped by errors about an unusable data directory.
var ErrDataDir = errors.New("broker: unusable data dir")

// Option injects a dependency of Start.
type Option func(*options)

type options struct {
	store      cluster.Store
	membership cluster.Membership
}

// WithStore makes the node use st as its metadata store instead of the
// local file store in <data>/metadata. The caller closes it after Shutdown.
func WithStore(st cluster.Store) Option { return func(o *options) { o.store = st } }

// WithMembership makes the node join m instead of the single-node local
// membership. The node calls Join on Start and Leave on Shutdown.
func WithMembership(m cluster.Membership) Option { return func(o *options) { o.membership = m } }

// Server is a running node.
type Server struct {
	cfg    Config
	logger *slog.Logger

	system     *actor.ActorSystem
	remote     *remote.Remote
	guardian   *actor.PID
	store      cluster.Store
	ownStore   bool
	membership cluster.Membership
	flusher    *commitlog.Flusher
	cleaner    *cleaner.Cleaner
	dirLock    *identity.DirLock
	// logDirs is the node's published log dir state; faults, with
	// Config.FaultInjection only, is the file layer of every log.
	logDirs *node.LogDirs
	// ready is the guardian's readiness, shown by /healthz.
	ready  *node.Readiness
	faults *vfs.Faulty

	kafkaLn   net.Listener
	kafkaAddr string
	kafka     *kafkaserver.Server
	// kafkaMetrics are the Kafka listener's request metrics.
	kafkaMetrics *handler.Metrics
	kafkaDone    chan struct{}
	kafkaStats   kafkaserver.Stats

	console    *console.Console
	httpServer *http.Server
	httpAddr   string
	httpDone   chan struct{}
	healthy    atomic.Bool

	shutdownOnce sync.Once
	shutdownErr  error
}

// Start brings a node up: data dir, metadata store, actor system and
// remote, node guardian (with a replica per hosted partition), membership,
// admin HTTP. It returns when the node serves requests. On error everything
// started so far is stopped again.
func Start(ctx context.Context, cfg Config, logger *slog.Logger, opts ...Option) (s *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	srv := &Server{cfg: cfg, logger: logger, store: o.store, membership: o.membership, logDirs: node.NewLogDirs(), ready: node.NewReadiness()}
	defer func() {
		if err != nil {
			_ = srv.teardown(context.Background()) // the start error is the one to report
		}
	}()
	s = srv
	if err := prepareDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	if s.dirLock, err = identity.Lock(cfg.DataDir); err != nil {
		return nil, err
	}
	if cfg.Clustered() && s.store == nil && s.membership == nil {
		if err := s.openConsul(); err != nil {
			return nil, err
		}
		if err := s.waitForStore(ctx); err != nil {
			return nil, err
		}
	}
	if s.store == nil {
		st, err := local.Open(filepath.Join(cfg.DataDir, metadataDirName))
		if err != nil {
			return nil, fmt.Errorf("broker: open metadata store: %w", err)
		}
		s.store, s.ownStore = st, true
	}
	if err := s.checkIdentity(ctx); err != nil {
		return nil, err
	}
	if err := s.clearOfflineRecord(ctx); err != nil {
		return nil, err
	}
	if err := s.clearShutdownRecord(ctx); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	var logFS vfs.FS
	if cfg.FaultInjection {
		s.faults = vfs.NewFaulty(vfs.OS{})
		logFS = s.faults
		logger.Warn("fault injection enabled: POST /test/faults fails log writes, fsyncs and renames (for tests only)")
	}
	var httpLn net.Listener
	if cfg.HTTP != "" {
		if httpLn, err = net.Listen("tcp", cfg.HTTP); err != nil {
			return nil, fmt.Errorf("broker: http listener: %w", err)
		}
		s.httpAddr = httpLn.Addr().String()
	}
	defer func() {
		if err != nil && httpLn != nil && srv.httpServer == nil { // srv: s is nil once an error is returned
			_ = httpLn.Close()
		}
	}()

	if err := s.listenKafka(); err != nil {
		return nil, err
	}

	s.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return actorLogger(logger)
	}))
	rc, err := newRemoteConfig(cfg.Listen, cfg.Advertise, cfg.Remote)
	if err != nil {
		return nil, err
	}
	r := remote.NewRemote(s.system, rc)
	if err := startRemote(r); err != nil {
		return nil, err
	}
	s.remote = r
	self := cluster.Member{NodeID: cfg.NodeID, Address: s.system.Address(), HTTPAddress: s.httpAddr, KafkaAddress: s.kafkaAddr}
	if s.membership == nil {
		s.membership = local.NewMembership(self)
	}
	if cfg.Clustered() {
		wait := cfg.Consul.CheckTTL + cfg.Consul.LockDelay + nodeIDWaitSlack
		if err := checkNodeIDFree(ctx, s.membership, self, wait); err != nil {
			return nil, err
		}
	}
	if err := s.membership.Join(ctx, self); err != nil {
		return nil, fmt.Errorf("broker: join membership: %w", err)
	}

	registry := prometheus.NewRegistry()
	metrics := partition.NewMetrics()
	gauges := partition.NewGauges()
	groupStats := group.NewStats(gauges.HighWatermark)
	keptDirs := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sluice_kept_partition_dirs",
		Help: "Partition directories in the data dir kept without a replica: the metadata does not assign them to this node and records no delete of them.",
	})
	s.kafkaMetrics = handler.NewMetrics()
	if err := errors.Join(metrics.Register(registry), s.kafkaMetrics.Register(registry), registry.Register(gauges), registry.Register(groupStats), registry.Register(keptDirs), s.registerLogDirMetrics(registry), s.registerKafkaMetrics(registry),
		registry.Register(collectors.NewGoCollector()),
		registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))); err != nil {
		return nil, fmt.Errorf("broker: metrics: %w", err)
	}
	s.flusher = commitlog.NewFlusher(cfg.Log.FlushInterval, commitlog.WithCheckpointInterval(cfg.Log.CheckpointInterval))
	if s.cleaner, err = startCleaner(cfg, logger, registry); err != nil {
		return nil, fmt.Errorf("broker: log cleaner: %w", err)
	}

	initial, err := metadata.Load(ctx, s.store)
	if err != nil {
		return nil, err
	}
	defaults, err := cfg.TopicDefaults()
	if err != nil {
		return nil, err
	}
	ctl := controller.New(s.store, s.membership, defaults, controller.WithLimits(controller.Limits{
		MaxPartitionsPerTopic: cfg.Limits.MaxPartitionsPerTopic,
		MaxPartitionsPerNode:  cfg.Limits.MaxPartitionsPerNode,
	}))
	if err := registry.Register(controllerCollector{ctl.Stats()}); err != nil {
		return nil, fmt.Errorf("broker: metrics: %w", err)
	}
	props := node.Props(node.Config{
		Self:                   self,
		DataDir:                cfg.DataDir,
		Store:                  s.store,
		Membership:             s.membership,
		Initial:                initial,
		TopicDefaults:          defaults,
		MaxRequestBytes:        cfg.MaxRequestBytes,
		IndexIntervalBytes:     int32(cfg.Log.IndexIntervalBytes),
		RetentionCheckInterval: cfg.Log.RetentionCheckInterval,
		Flusher:                s.flusher,
		Cleaner:                s.cleaner,
		Controller:             ctl,
		Limits: partition.Limits{
			MaxFetchWait:           cfg.Limits.FetchMaxWait,
			MaxParkedFetches:       cfg.Limits.MaxParkedFetches,
			MaxPendingProduceBytes: cfg.Limits.MaxPendingProduceBytes,
			ProducerIDExpiration:   cfg.Limits.ProducerIDExpiration,
			MaxProducerIDs:         cfg.Limits.MaxProducerIDs,
		},
		Replication: cfg.Replication.replicationConfig(),
		Logger:      logger,
		Metrics:     metrics,
		Gauges:      gauges,
		Groups:      group.Config{Stats: groupStats},
		KeptDirs:    keptDirs,
		LogDirs:     s.logDirs,
		Readiness:   s.ready,
		LogFS:       logFS,

		LeaderBalanceInterval:  cfg.Leaders.balanceInterval(),
		LeaderImbalancePercent: cfg.Leaders.ImbalancePercent,
		ReplicaBalance:         cfg.Balance.policy(cfg.Clustered()),
		ReplicationThrottle:    replication.NewThrottle(cfg.Replication.ReassignmentThrottleBytes, nil),

		FileDeleteDelay: cfg.Log.FileDeleteDelay,
	})
	if s.guardian, err = s.system.Root.SpawnNamed(props, messages.NodeActorID); err != nil {
		return nil, fmt.Errorf("broker: spawn node guardian: %w", err)
	}
	s.console = console.New(console.Config{Seeds: []string{s.system.Address()}, Ready: s.consoleReady})
	if httpLn != nil {
		// Served while starting: /healthz says why the node is not ready.
		s.serveHTTP(httpLn, registry)
	}
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	s.serveKafka()
	s.healthy.Store(true)
	logger.Info("sluiced started", "node_id", cfg.NodeID, "address", self.Address, "http", s.httpAddr, "kafka", s.kafkaAddr,
		"data_dir", cfg.DataDir, "topics", len(initial.Topics))
	return s, nil
}

// waitReady asks the guardian for metadata until it knows the controller:
// then replicas exist and admin requests can be served.
func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		res, err := s.system.Root.RequestFuture(s.guardian, &messages.MetadataRequest{}, guardianAskTimeout).Result()
		if resp, ok := res.(*messages.MetadataResponse); err == nil && ok && resp.ControllerId >= 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("broker: node not ready after %s (no controller known)", readyTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(readyPollInterval):
		}
	}
}

// Address is the advertised address of the node's remote.
func (s *Server) Address() string { return s.system.Address() }

// HTTPAddress is the bound address of the admin HTTP server ("" if none).
func (s *Server) HTTPAddress() string { return s.httpAddr }

// ActorSystem is the node's actor system.
func (s *Server) ActorSystem() *actor.ActorSystem { return s.system }

// Shutdown stops the node gracefully: /healthz turns unhealthy, every
// replica serves what is queued, answers pending requests, flushes and
// closes its log (leaving the clean-shutdown marker), then the remote,
// membership, store and HTTP server stop. It is safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.teardown(ctx) })
	return s.shutdownErr
}

// teardown stops whatever Start got to, in reverse order.
func (s *Server) teardown(ctx context.Context) error {
	if s.healthy.Swap(false) {
		// Serving until now (not a failed start): hand leaderships over
		// while the listeners still answer, so clients follow them.
		s.controlledShutdown(ctx)
	}
	var errs []error
	if s.console != nil {
		if err := s.console.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("broker: close console: %w", err))
		}
	}
	s.stopKafka()
	if s.guardian != nil {
		timeout := s.cfg.ShutdownTimeout
		if d, ok := ctx.Deadline(); ok {
			timeout = min(timeout, time.Until(d))
		}
		if err := node.Drain(s.system, s.guardian, timeout); err != nil {
			errs = append(errs, fmt.Errorf("broker: drain replicas: %w", err))
		}
		if err := s.system.Root.StopFuture(s.guardian).Wait(); err != nil {
			errs = append(errs, fmt.Errorf("broker: stop node guardian: %w", err))
		}
	}
	if s.remote != nil {
		s.stopRemote()
	}
	if s.cleaner != nil {
		// After the replicas: each unregistered its log on close.
		s.cleaner.Close()
	}
	if s.flusher != nil {
		s.flusher.Close()
	}
	if s.membership != nil {
		leaveCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.membership.Leave(leaveCtx); err != nil && !errors.Is(err, local.ErrNotJoined) {
			errs = append(errs, fmt.Errorf("broker: leave membership: %w", err))
		}
		if s.cfg.Clustered() && s.store != nil {
			// The node is gone; its shutdown record has done its work.
			if err := s.clearShutdownRecord(leaveCtx); err != nil {
				s.logger.Debug("clear controlled-shutdown record", "error", err)
			}
		}
		cancel()
	}
	if s.ownStore && s.store != nil {
		if err := s.store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("broker: close metadata store: %w", err))
		}
	}
	if s.httpServer != nil {
		if err := s.httpServer.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("broker: http shutdown: %w", err))
		}
		<-s.httpDone
	}
	if s.system != nil {
		s.system.Shutdown()
	}
	if err := s.dirLock.Unlock(); err != nil {
		errs = append(errs, fmt.Errorf("broker: release data dir lock: %w", err))
	}
	return errors.Join(errs...)
}

// stopRemote shuts the remote down gracefully, but not longer than
// remoteStopTimeout: grpc's graceful stop waits for every client stream to
// end, and connected clients keep theirs open.
//
// protoactor's graceful stop tells each endpoint reader to say goodbye on
// the reader's channel, and panics (send on a closed channel) when a
// reader's stream has just ended on its own, a peer leaving at the same
// moment; the gRPC server is then stopped outright.
func (s *Server) stopRemote() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				s.logger.Debug("remote graceful stop raced a closing connection; stopping it outright", "panic", p)
				s.remote.Shutdown(false)
			}
		}()
		s.remote.Shutdown(true)
	}()
	select {
	case <-done:
	case <-time.After(remoteStopTimeout):
		s.logger.Debug("remote still closing client streams; leaving them to process exit")
	}
}

// prepareDataDir creates the data dir (not its parents) and checks that it
// is a writable directory.
func prepareDataDir(dir string) error {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%w: %s: %v", ErrDataDir, dir, err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrDataDir, dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %s: not a directory", ErrDataDir, dir)
	}
	probe, err := os.CreateTemp(dir, ".write-probe-*")
	if err != nil {
		return fmt.Errorf("%w: %s: not writable: %v", ErrDataDir, dir, err)
	}
	name := probe.Name()
	if err := errors.Join(probe.Close(), os.Remove(name)); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrDataDir, dir, err)
	}
	return nil
}
