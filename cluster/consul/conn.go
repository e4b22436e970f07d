package consul

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/sluice-mq/sluice/cluster"
)

// Errors of this package besides the cluster sentinels.
var (
	// ErrInvalidConfig means a Config field has a value Consul rejects.
	ErrInvalidConfig = errors.New("consul: invalid config")
	// ErrInvalidKey means a key was empty or started with "/".
	ErrInvalidKey = errors.New("consul: invalid key")
)

// conn is the HTTP client shared by the Store and Membership methods: it
// bounds every request with a timeout, ends in-flight requests on close and
// maps failures to the cluster sentinels.
type conn struct {
	client    *api.Client
	transport *http.Transport
	cfg       Config

	// closing is cancelled by close; every request's context derives from
	// both the caller's context and closing.
	closing context.Context
	close   context.CancelFunc
}

func newConn(cfg Config) (*conn, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	apiCfg := api.DefaultConfig()
	if cfg.Address != "" {
		apiCfg.Address = cfg.Address
	}
	if cfg.Token != "" {
		apiCfg.Token = cfg.Token
	}
	transport := apiCfg.Transport
	client, err := api.NewClient(apiCfg)
	if err != nil {
		return nil, fmt.Errorf("consul: new client: %w", err)
	}
	c := &conn{client: client, transport: transport, cfg: cfg}
	c.closing, c.close = context.WithCancel(context.Background())
	return c, nil
}

// shutdown ends in-flight requests and drops idle connections.
func (c *conn) shutdown() {
	c.close()
	c.transport.CloseIdleConnections()
}

// blockingTimeout bounds one blocking query that waits up to wait.
func (c *conn) blockingTimeout(wait time.Duration) time.Duration {
	return wait + wait/16 + c.cfg.Timeout
}

// do runs one request under a context bounded by timeout and by close, and
// maps its failure: the caller's own cancellation is returned as ctx.Err(),
// close as cluster.ErrClosed, a lost or overloaded Consul as a wrapped
// cluster.ErrUnavailable.
func (c *conn) do(ctx context.Context, op string, timeout time.Duration, fn func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.closing.Err() != nil {
		return cluster.ErrClosed
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stop := context.AfterFunc(c.closing, cancel)
	defer stop()
	err := fn(rctx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case c.closing.Err() != nil:
		return cluster.ErrClosed
	case unavailable(err):
		return fmt.Errorf("consul: %s: %w: %w", op, cluster.ErrUnavailable, err)
	default:
		return fmt.Errorf("consul: %s: %w", op, err)
	}
}

// unavailable reports whether err means Consul could not serve the request
// right now (no connection, a timeout, no leader, rate limited), as opposed
// to rejecting it.
func unavailable(err error) bool {
	var status api.StatusError
	if errors.As(err, &status) {
		return status.Code >= 500 || status.Code == http.StatusTooManyRequests
	}
	// Everything else failed before Consul answered: dial, reset, timeout.
	return true
}

// fullKey roots a relative key under the prefix.
func (c *conn) fullKey(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") {
		return "", fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	return c.cfg.Prefix + key, nil
}

// relKey strips the prefix from a key Consul returned.
func (c *conn) relKey(full string) string {
	return strings.TrimPrefix(full, c.cfg.Prefix)
}

// get reads one key (full path); nil means missing.
func (c *conn) get(ctx context.Context, full string) (*api.KVPair, uint64, error) {
	return c.blockingGet(ctx, full, 0, 0)
}

// list reads every key under the full prefix, sorted by key.
func (c *conn) list(ctx context.Context, full string) (api.KVPairs, uint64, error) {
	return c.blockingList(ctx, full, 0, 0)
}

// blockingList is a blocking query on the full prefix: with index 0 it
// answers at once, otherwise when the prefix changes after index or wait
// passes.
func (c *conn) blockingList(ctx context.Context, full string, index uint64, wait time.Duration) (api.KVPairs, uint64, error) {
	var pairs api.KVPairs
	var last uint64
	timeout := c.cfg.Timeout
	if index > 0 {
		timeout = c.blockingTimeout(wait)
	}
	err := c.do(ctx, "list "+full, timeout, func(ctx context.Context) error {
		q := &api.QueryOptions{WaitIndex: index, WaitTime: wait}
		p, meta, err := c.client.KV().List(full, q.WithContext(ctx))
		if err != nil {
			return err
		}
		pairs, last = p, sanitizeIndex(meta.LastIndex)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].Key < pairs[j].Key })
	return pairs, last, nil
}

// watch blocks until the full prefix changes after index or wait passes,
// and returns the listing and its index.
//
// Consul's index for a prefix can go backwards: tombstones are reaped, and
// a dev agent that restarts starts over from zero. A blocking query with an
// index from before such a reset would sleep until wait passes while the
// prefix changes underneath, so a cheap non-blocking read goes first: when
// its index differs from the caller's, that listing is already the answer
// (either news or a reset the caller recovers from by watching the new,
// lower index).
func (c *conn) watch(ctx context.Context, full string, index uint64, wait time.Duration) (api.KVPairs, uint64, error) {
	pairs, current, err := c.list(ctx, full)
	if err != nil || index == 0 || current != index {
		return pairs, current, err
	}
	pairs, current, err = c.blockingList(ctx, full, index, wait)
	if err != nil {
		return nil, 0, err
	}
	return pairs, current, nil
}

// sanitizeIndex keeps a blocking-query index at least 1, as Consul's
// blocking-query rules ask: index 0 would make the next query return at
// once, forever.
func sanitizeIndex(index uint64) uint64 {
	if index == 0 {
		return 1
	}
	return index
}

// blockingGet is a blocking query on one key (full path): with index 0 it
// answers at once, otherwise when the key changes after index or wait
// passes. A nil pair means the key is missing.
func (c *conn) blockingGet(ctx context.Context, full string, index uint64, wait time.Duration) (*api.KVPair, uint64, error) {
	var pair *api.KVPair
	var last uint64
	timeout := c.cfg.Timeout
	if index > 0 {
		timeout = c.blockingTimeout(wait)
	}
	err := c.do(ctx, "get "+full, timeout, func(ctx context.Context) error {
		q := &api.QueryOptions{WaitIndex: index, WaitTime: wait}
		p, meta, err := c.client.KV().Get(full, q.WithContext(ctx))
		if err != nil {
			return err
		}
		pair, last = p, sanitizeIndex(meta.LastIndex)
		return nil
	})
	return pair, last, err
}
