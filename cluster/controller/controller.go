package controller

import (
	"context"
	"errors"
	"hash/fnv"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

// DefaultMaxRetries is how many times a change is re-read and retried after
// losing a check-and-set race before the request fails.
const DefaultMaxRetries = 16

// Controller carries out admin requests against the metadata store. It has
// no goroutines and no state besides its configuration; the node actor calls
// it from a goroutine of its own (the calls block on the store). Every
// write is a check-and-set, so two controllers racing (say, during a
// controller failover) cannot corrupt the metadata: one of them loses and
// re-reads.
//
// A Controller is safe for concurrent use.
type Controller struct {
	store      cluster.Store
	members    cluster.Membership
	defaults   metadata.TopicConfig
	startIndex func(topic string) int
	maxRetries int
	limits     Limits
	stats      Stats
}

// Option configures a Controller.
type Option func(*Controller)

// WithStartIndex sets how a new topic's assignment is rotated (see
// placement.Assign). The default hashes the topic name, so topics do not all
// put their first leader on the lowest node id.
func WithStartIndex(fn func(topic string) int) Option {
	return func(c *Controller) { c.startIndex = fn }
}

// WithMaxRetries sets how many lost check-and-set races a request tolerates.
// Zero or negative means DefaultMaxRetries.
func WithMaxRetries(n int) Option {
	return func(c *Controller) {
		if n > 0 {
			c.maxRetries = n
		}
	}
}

// New returns a controller writing to st, placing replicas over the live
// members, with defaults as the broker's topic config defaults (they must
// pass TopicConfig.Validate).
func New(st cluster.Store, members cluster.Membership, defaults metadata.TopicConfig, opts ...Option) *Controller {
	c := &Controller{
		store:      st,
		members:    members,
		defaults:   defaults,
		startIndex: hashStartIndex,
		maxRetries: DefaultMaxRetries,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

func hashStartIndex(topic string) int {
	h := fnv.New32a()
	h.Write([]byte(topic))
	return int(h.Sum32() & 0x7fffffff)
}

// liveNodes returns the node ids of the live members that serve their
// replicas: a member whose log dir is offline is left out, as if dead, so
// it neither leads nor stays in ISRs nor gets new replicas.
func (c *Controller) liveNodes(ctx context.Context) ([]int32, error) {
	nodes, _, err := c.servingNodes(ctx)
	return nodes, err
}

// servingNodes is liveNodes plus the number of live members, offline
// dirs or not.
func (c *Controller) servingNodes(ctx context.Context) ([]int32, int, error) {
	members, _, err := c.members.Members(ctx)
	if err != nil {
		return nil, 0, err
	}
	offline, err := metadata.OfflineLogDirs(ctx, c.store)
	if err != nil {
		return nil, 0, err
	}
	nodes := make([]int32, 0, len(members))
	for _, m := range members {
		if _, down := offline[m.NodeID]; !down {
			nodes = append(nodes, m.NodeID)
		}
	}
	return nodes, len(members), nil
}

// errConflict ends a retry loop that kept losing check-and-set races.
var errConflict = errors.New("controller: metadata kept changing concurrently; retry the request")

// retry runs fn until it does not fail with cluster.ErrVersionMismatch, at
// most maxRetries times.
func (c *Controller) retry(ctx context.Context, fn func() error) error {
	for range c.maxRetries {
		err := fn()
		if !errors.Is(err, cluster.ErrVersionMismatch) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return errConflict
}

// codeOf maps a failure to the wire code a client acts on: errors that
// already carry a code keep it; an unreachable store, a timeout or a lost
// race are worth retrying (REQUEST_TIMED_OUT); a closed store means this
// node is going away (NOT_CONTROLLER sends the client elsewhere).
func codeOf(err error) messages.ErrorCode {
	var me *messages.Error
	switch {
	case err == nil:
		return messages.ErrorCode_NONE
	case errors.As(err, &me):
		return me.Code
	case errors.Is(err, cluster.ErrUnavailable), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled), errors.Is(err, errConflict):
		return messages.ErrorCode_REQUEST_TIMED_OUT
	case errors.Is(err, cluster.ErrClosed):
		return messages.ErrorCode_NOT_CONTROLLER
	default:
		return messages.ErrorCode_UNKNOWN_SERVER_ERROR
	}
}

// errorMessage is the detail sent with a code: the message of a
// messages.Error without its "sluice: CODE: " prefix, else the whole error.
func errorMessage(err error) string {
	if me, ok := err.(*messages.Error); ok && me.Message != "" {
		return me.Message
	}
	return err.Error()
}
