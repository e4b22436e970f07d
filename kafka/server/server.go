package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/kafka/wire"
)

// Defaults of Config.
const (
	DefaultIdleTimeout = 10 * time.Minute // Kafka's connections.max.idle.ms
	DefaultMaxInFlight = 64
	writeTimeout       = 30 * time.Second
)

// ErrClosed is returned by Serve after Close.
var ErrClosed = errors.New("server: closed")

// Handler answers decoded requests in two steps. Handle runs on the
// connection's reader in request order and must not block: it sends what
// has to reach the node's actors in order (produces to one partition) and
// returns the rest. The returned function runs in its own goroutine, may
// block until ctx is done (the connection closed) and returns the response,
// or nil for a request that gets none (Produce with acks=0).
type Handler interface {
	Handle(ctx context.Context, req *wire.Request) func() kmsg.Response
}

// Config of a listener.
type Config struct {
	// MaxRequestBytes is the largest frame accepted (socket.request.max.bytes).
	MaxRequestBytes int32
	// IdleTimeout closes a connection that sends nothing for this long.
	IdleTimeout time.Duration
	// MaxInFlight is the number of requests of one connection handled at
	// once; the next waits in the socket.
	MaxInFlight int
	// MaxConnections bounds the open connections; more are closed at accept.
	MaxConnections int
	// Stats, if set, is where the server counts what it sent.
	Stats *Stats
}

// Stats are a server's counters, safe to read while it runs.
type Stats struct {
	// FileFrames and FileFrameBytes count the responses sent as a
	// framing around file ranges (zero-copy Fetch) and their bytes.
	FileFrames, FileFrameBytes atomic.Int64
}

func (c *Config) defaults() {
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = wire.DefaultMaxRequestBytes
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = 10000
	}
	if c.Stats == nil {
		c.Stats = new(Stats)
	}
}

// Server serves Kafka connections accepted on one listener.
type Server struct {
	cfg     Config
	ln      net.Listener
	handler Handler
	logger  *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[*conn]struct{}
	closed bool
}

// New returns a server for ln; Serve starts it.
func New(ln net.Listener, h Handler, cfg Config, logger *slog.Logger) *Server {
	cfg.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{cfg: cfg, ln: ln, handler: h, logger: logger, ctx: ctx, cancel: cancel, conns: make(map[*conn]struct{})}
}

// Addr is the listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts connections until Close.
func (s *Server) Serve() error {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return ErrClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("server: accept: %w", err)
		}
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closed || len(s.conns) >= s.cfg.MaxConnections {
			s.mu.Unlock()
			s.logger.Info("kafka: connection refused", "remote", nc.RemoteAddr().String(), "reason", "connection limit or closing")
			_ = nc.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Close stops accepting, closes every connection and waits for their
// reader and writer goroutines. Handler goroutines still waiting for an
// answer end with their request's deadline; their answers are dropped.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.cancel()
	err := s.ln.Close()
	for _, c := range conns {
		c.close()
	}
	s.wg.Wait()
	return err
}

// Conns is the number of open connections.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
