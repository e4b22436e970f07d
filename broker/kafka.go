package broker

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-mq/sluice/kafka/handler"
	kafkaserver "github.com/sluice-mq/sluice/kafka/server"
)

// DefaultKafkaListen is the Kafka listener's default address, Kafka's port.
const DefaultKafkaListen = "127.0.0.1:9092"

// KafkaConfig is the Kafka protocol listener (kafka/): Kafka clients and
// tools connect to it and reach the same replicas, groups and transactions
// as the actor client.
type KafkaConfig struct {
	// Listen is its host:port; empty disables it. Port 0 picks a free port.
	Listen string `yaml:"listen"`
	// Advertise is the host:port Metadata and FindCoordinator name for this
	// node. Empty means Listen with the bound port; required when Listen
	// binds every interface.
	Advertise string `yaml:"advertise"`
	// MaxRequestBytes is the largest request frame (Kafka's
	// socket.request.max.bytes); a larger one closes the connection.
	MaxRequestBytes int32 `yaml:"max_request_bytes"`
	// IdleTimeout closes a connection that sends nothing for this long
	// (Kafka's connections.max.idle.ms).
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MaxInFlight is the number of one connection's requests handled at
	// once; a client pipelining more waits.
	MaxInFlight int `yaml:"max_in_flight"`
	// ZeroCopy sends fetched batches from the segment files to the socket
	// with sendfile(2) instead of copying them through memory (default
	// true; false is the copying path, kept for comparison).
	ZeroCopy bool `yaml:"zero_copy"`
}

func (k *KafkaConfig) validate() error {
	if k.Listen == "" {
		return nil
	}
	if err := checkHostPort("kafka.listen", k.Listen, true); err != nil {
		return err
	}
	if k.Advertise != "" {
		if err := checkHostPort("kafka.advertise", k.Advertise, false); err != nil {
			return err
		}
	} else if host, _, _ := net.SplitHostPort(k.Listen); host == "" || net.ParseIP(host).IsUnspecified() {
		return fmt.Errorf("%w: kafka.advertise is required when kafka.listen %q binds every interface", ErrInvalidConfig, k.Listen)
	}
	switch {
	case k.MaxRequestBytes < 1024:
		return fmt.Errorf("%w: kafka.max_request_bytes %d: must be >= 1024", ErrInvalidConfig, k.MaxRequestBytes)
	case k.IdleTimeout <= 0:
		return fmt.Errorf("%w: kafka.idle_timeout %s: must be > 0", ErrInvalidConfig, k.IdleTimeout)
	case k.MaxInFlight < 1:
		return fmt.Errorf("%w: kafka.max_in_flight %d: must be >= 1", ErrInvalidConfig, k.MaxInFlight)
	}
	return nil
}

// listenKafka binds the Kafka listener (before the node joins the
// membership, which records its advertised address).
func (s *Server) listenKafka() error {
	if s.cfg.Kafka.Listen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.Kafka.Listen)
	if err != nil {
		return fmt.Errorf("broker: kafka listener: %w", err)
	}
	s.kafkaLn = ln
	s.kafkaAddr = s.cfg.Kafka.Advertise
	if s.kafkaAddr == "" {
		s.kafkaAddr = ln.Addr().String()
	}
	return nil
}

// serveKafka starts serving the bound Kafka listener.
func (s *Server) serveKafka() {
	if s.kafkaLn == nil {
		return
	}
	defaults, _ := s.cfg.TopicDefaults() // validated at start
	h := handler.New(handler.Config{Root: s.system.Root, Guardian: s.guardian, NodeID: s.cfg.NodeID,
		TopicDefaults: defaults, ZeroCopy: s.cfg.Kafka.ZeroCopy, Logger: s.logger, Metrics: s.kafkaMetrics})
	k := s.cfg.Kafka
	s.kafka = kafkaserver.New(s.kafkaLn, h, kafkaserver.Config{
		MaxRequestBytes: k.MaxRequestBytes, IdleTimeout: k.IdleTimeout, MaxInFlight: k.MaxInFlight,
		Stats: &s.kafkaStats,
	}, s.logger)
	s.kafkaDone = make(chan struct{})
	go func() {
		defer close(s.kafkaDone)
		if err := s.kafka.Serve(); err != nil && err != kafkaserver.ErrClosed {
			s.logger.Error("kafka listener stopped", "error", err)
		}
	}()
}

// stopKafka closes the listener and its connections.
func (s *Server) stopKafka() {
	if s.kafka != nil {
		_ = s.kafka.Close()
		<-s.kafkaDone
		s.kafka = nil
		return
	}
	if s.kafkaLn != nil {
		_ = s.kafkaLn.Close()
	}
}

// registerKafkaMetrics exports the listener's counters.
func (s *Server) registerKafkaMetrics(registry *prometheus.Registry) error {
	return errors.Join(
		registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sluice_kafka_sendfile_responses_total", Help: "Kafka Fetch responses sent zero-copy (framing plus sendfile of segment ranges).",
		}, func() float64 { return float64(s.kafkaStats.FileFrames.Load()) })),
		registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sluice_kafka_sendfile_bytes_total", Help: "Bytes of the Kafka Fetch responses sent zero-copy.",
		}, func() float64 { return float64(s.kafkaStats.FileFrameBytes.Load()) })),
	)
}

// KafkaAddress is the advertised address of the Kafka listener ("" if none).
func (s *Server) KafkaAddress() string { return s.kafkaAddr }
