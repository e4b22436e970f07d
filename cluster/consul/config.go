package consul

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultPrefix      = "sluice/"
	DefaultWaitTime    = 5 * time.Minute
	DefaultTimeout     = 10 * time.Second
	DefaultServiceName = "sluice"
	DefaultCheckTTL    = 3 * time.Second
	DefaultLockDelay   = time.Second
)

// maxLockDelay is Consul's upper bound for a session's lock-delay.
const maxLockDelay = 60 * time.Second

// Config configures a Store or a Membership. The zero value talks to the
// local agent with every default.
type Config struct {
	// Address is the host:port (or URL) of the Consul HTTP API. Empty means
	// the CONSUL_HTTP_ADDR environment variable, else 127.0.0.1:8500.
	// Consul's other CONSUL_HTTP_* variables (TLS, auth) apply as usual.
	Address string

	// Prefix roots every key; keys passed to Store methods are relative to
	// it. Empty means DefaultPrefix. A missing trailing "/" is added.
	Prefix string

	// Token is the ACL token. Empty means CONSUL_HTTP_TOKEN, else none.
	Token string

	// WaitTime bounds one blocking query (Store.Watch,
	// Membership.WatchMembers). 0 means DefaultWaitTime. Consul adds up to
	// WaitTime/16 of jitter.
	WaitTime time.Duration

	// Timeout bounds every request that is not a blocking query; a blocking
	// query gets WaitTime, its jitter and Timeout. 0 means DefaultTimeout.
	Timeout time.Duration

	// ServiceName is the Consul service each node registers as; node n's
	// service ID is ServiceName-n. Empty means DefaultServiceName. Clusters
	// sharing a Consul datacenter use distinct Prefix and ServiceName.
	ServiceName string

	// CheckTTL is the TTL of the node's health check. The check is refreshed
	// every CheckTTL/3; a node that misses it for CheckTTL loses its session,
	// its node key and the controller lock. 0 means DefaultCheckTTL.
	CheckTTL time.Duration

	// LockDelay is the session lock-delay: after a session is invalidated
	// its keys cannot be acquired for this long. 0 means DefaultLockDelay.
	LockDelay time.Duration

	// Logger receives registration state changes. Nil means no logging.
	Logger *slog.Logger
}

// Validate reports a field Consul would reject; NewStore and NewMembership
// run it too.
func (cfg Config) Validate() error {
	_, err := cfg.withDefaults()
	return err
}

// withDefaults returns cfg with zero fields replaced by defaults, or an
// error for values Consul would reject.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if strings.HasPrefix(cfg.Prefix, "/") {
		return cfg, fmt.Errorf("%w: prefix %q starts with /", ErrInvalidConfig, cfg.Prefix)
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.WaitTime == 0 {
		cfg.WaitTime = DefaultWaitTime
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ServiceName == "" {
		cfg.ServiceName = DefaultServiceName
	}
	if cfg.CheckTTL == 0 {
		cfg.CheckTTL = DefaultCheckTTL
	}
	if cfg.LockDelay == 0 {
		cfg.LockDelay = DefaultLockDelay
	}
	switch {
	case cfg.WaitTime < 0, cfg.Timeout < 0, cfg.CheckTTL < 0, cfg.LockDelay < 0:
		return cfg, fmt.Errorf("%w: negative duration", ErrInvalidConfig)
	case cfg.CheckTTL < time.Second:
		return cfg, fmt.Errorf("%w: check TTL %v is below 1s", ErrInvalidConfig, cfg.CheckTTL)
	case cfg.LockDelay > maxLockDelay:
		return cfg, fmt.Errorf("%w: lock delay %v is above %v", ErrInvalidConfig, cfg.LockDelay, maxLockDelay)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}
