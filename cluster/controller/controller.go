package controller

import (
	"context"
	"errors"
	"hash/fnv"
	"slices"

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
	// decoder keeps election passes from decoding unchanged keys again.
	decoder *metadata.Decoder
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
		decoder:    &metadata.Decoder{},
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

// liveNodes returns the node ids of the live members that can take new
// replicas: a member whose log dir is offline is left out, as if dead, so
// it neither leads nor stays in ISRs nor gets new replicas; a member in
// controlled shutdown is left out too.
func (c *Controller) liveNodes(ctx context.Context) ([]int32, error) {
	set, _, err := c.servingNodes(ctx)
	if err != nil {
		return nil, err
	}
	nodes := make([]int32, 0, len(set.live))
	for _, n := range set.sorted() {
		if !set.leaving[n] {
			nodes = append(nodes, n)
		}
	}
	return nodes, nil
}

// nodeSet is what an election knows of the members.
type nodeSet struct {
	// live holds the members serving their replicas (log dir online).
	live map[int32]bool
	// leaving holds the live members in controlled shutdown: they keep
	// their replicas until they stop, but lead only when no other in-sync
	// member can, and leave every ISR that has another member.
	leaving map[int32]bool
}

// canLead reports whether n may be elected in the normal course.
func (s nodeSet) canLead(n int32) bool { return s.live[n] && !s.leaving[n] }

func (s nodeSet) sorted() []int32 {
	out := make([]int32, 0, len(s.live))
	for n := range s.live {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// servingNodes returns the live members that serve their replicas (and
// which of them are shutting down), plus the number of live members,
// offline dirs or not.
func (c *Controller) servingNodes(ctx context.Context) (nodeSet, int, error) {
	members, _, err := c.members.Members(ctx)
	if err != nil {
		return nodeSet{}, 0, err
	}
	offline, err := metadata.OfflineLogDirs(ctx, c.store)
	if err != nil {
		return nodeSet{}, 0, err
	}
	leaving, err := metadata.ShuttingDownNodes(ctx, c.store)
	if err != nil {
		return nodeSet{}, 0, err
	}
	return serving(members, offline, leaving), len(members), nil
}

// servingView is servingNodes for a caller that needs the metadata
// too: it reads the members, then the snapshot (through the controller's
// decoder, which shares unchanged topics between loads: read it only),
// and takes the offline log dirs and the nodes in controlled shutdown from
// the snapshot instead of listing them again.
func (c *Controller) servingView(ctx context.Context) (nodeSet, int, metadata.Snapshot, error) {
	members, _, err := c.members.Members(ctx)
	if err != nil {
		return nodeSet{}, 0, metadata.Snapshot{}, err
	}
	snap, err := c.decoder.Load(ctx, c.store)
	if err != nil {
		return nodeSet{}, 0, metadata.Snapshot{}, err
	}
	return serving(members, snap.OfflineLogDirs, snap.ShuttingDown), len(members), snap, nil
}

// serving is the nodeSet of members, less those with an offline log dir.
func serving(members []cluster.Member, offline map[int32]metadata.NodeLogDirs, leaving map[int32]bool) nodeSet {
	set := nodeSet{live: make(map[int32]bool, len(members)), leaving: make(map[int32]bool)}
	for _, m := range members {
		if _, down := offline[m.NodeID]; !down {
			set.live[m.NodeID] = true
			if leaving[m.NodeID] {
				set.leaving[m.NodeID] = true
			}
		}
	}
	return set
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
