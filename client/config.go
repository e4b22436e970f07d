package client

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Defaults applied to zero Config fields.
const (
	DefaultRequestTimeout  = 10 * time.Second
	DefaultRetryBackoff    = 100 * time.Millisecond
	DefaultMaxRetries      = 10
	DefaultMaxRequestBytes = 1 << 20
	DefaultListenHost      = "127.0.0.1"

	// maxRetryBackoff caps the exponential retry backoff.
	maxRetryBackoff = 2 * time.Second
	// remoteBatchBudget bounds the bytes the client's remote packs into one
	// gRPC message: its writer batch size is remoteBatchBudget divided by
	// MaxRequestBytes, which keeps every batch under gRPC's default 4 MiB
	// MaxRecvMsgSize on the broker (protoactor sends a whole writer batch
	// as one message, and an oversized one tears the connection down).
	remoteBatchBudget = 3 << 20
	// maxRecvMsgBytes is the largest gRPC message the client accepts: a
	// broker batches fetch responses the same way.
	maxRecvMsgBytes = 256 << 20
	// flowControlWindow is the HTTP/2 flow-control window of the
	// client's connections, both ways. With grpc's 64 KiB default a
	// fetch response of megabytes stalls on window updates.
	flowControlWindow = 16 << 20
	// transportBufferSize is the read and write buffer of each
	// connection: fewer syscalls per megabyte than grpc's 32 KiB.
	transportBufferSize = 256 << 10
)

// Config configures a Client. The zero value of every field but Seeds
// means its default.
type Config struct {
	// Seeds are host:port addresses of broker nodes' actor remotes; the
	// client learns the rest of the cluster from the first that answers.
	Seeds []string
	// ListenHost is the interface the client's own remote listens on, so
	// brokers can send responses back. "" means the local address of a
	// connection to the first seed that accepts one (the interface that
	// routes to the cluster, so a client on another host works with no
	// settings); 127.0.0.1 when none does.
	ListenHost string
	// ListenPort is the port of the client's remote; 0 picks a free one.
	ListenPort int
	// AdvertiseAddr is the host:port brokers reach the client at, when
	// the listen address is not reachable from them (NAT, containers).
	// "" means the listen address.
	AdvertiseAddr string
	// RequestTimeout bounds one request to a broker. 0 means 10 s.
	RequestTimeout time.Duration
	// RetryBackoff is the first pause before retrying a retriable error;
	// it doubles per attempt up to 2 s. 0 means 100 ms.
	RetryBackoff time.Duration
	// MaxRetries is how many times a retriable failure is retried. 0 means
	// 10; negative means never.
	MaxRetries int
	// MaxRequestBytes is the largest produce request the client sends;
	// producers' BatchBytes must not exceed it. 0 means 1 MiB.
	MaxRequestBytes int
	// Logger receives the client's and its actor system's logs. nil
	// discards them.
	Logger *slog.Logger
}

func (c *Config) applyDefaults() {
	if c.ListenHost == "" {
		c.ListenHost = DefaultListenHost
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = DefaultMaxRetries
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports a configuration error.
func (c *Config) Validate() error {
	if len(c.Seeds) == 0 {
		return errors.New("client: no seed brokers")
	}
	for _, s := range c.Seeds {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("client: seed %q: %w", s, err)
		}
	}
	if c.AdvertiseAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdvertiseAddr); err != nil {
			return fmt.Errorf("client: advertise address %q: %w", c.AdvertiseAddr, err)
		}
	}
	if c.ListenPort < 0 || c.ListenPort > 65535 {
		return fmt.Errorf("client: listen port %d out of range", c.ListenPort)
	}
	if c.RequestTimeout < 0 || c.RetryBackoff < 0 || c.MaxRequestBytes < 0 {
		return errors.New("client: negative timeout, backoff or request size")
	}
	return nil
}

// backoff returns the pause before retry number attempt (1-based).
func (c *Config) backoff(attempt int) time.Duration {
	d := c.RetryBackoff
	for i := 1; i < attempt && d < maxRetryBackoff; i++ {
		d *= 2
	}
	return min(d, maxRetryBackoff)
}
