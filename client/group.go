package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/group/assign"
)

// ConsumerProtocolType is the JoinGroup protocol type of consumers.
const ConsumerProtocolType = assign.ConsumerProtocolType

// Group consumer defaults, Kafka's (Kafka 3.x: session.timeout.ms 45 s,
// heartbeat.interval.ms 3 s, max.poll.interval.ms 5 min,
// auto.commit.interval.ms 5 s, assignors [range, cooperative-sticky])
// except the metadata age, 5 min in Kafka.
const (
	DefaultSessionTimeout     = 45 * time.Second
	DefaultRebalanceTimeout   = 5 * time.Minute
	DefaultHeartbeatInterval  = 3 * time.Second
	DefaultAutoCommitInterval = 5 * time.Second
	DefaultMetadataMaxAge     = 5 * time.Second
)

// DefaultAssignors are the assignor names a group consumer offers when
// GroupConfig.Assignors is empty, in order of preference.
var DefaultAssignors = []string{"range", "cooperative-sticky"}

// ErrFenced means another consumer with the same GroupConfig.InstanceID
// took over this one's membership (FENCED_INSTANCE_ID); the consumer
// cannot continue.
var ErrFenced = errors.New("client: fenced by another consumer with the same instance id")

// GroupConfig configures a GroupConsumer. Zero fields take their defaults.
type GroupConfig struct {
	GroupID string
	// Topics the consumer subscribes to.
	Topics []string
	// Assignors are the assignment strategies offered, by name ("range",
	// "roundrobin", "cooperative-sticky"), in order of preference. The
	// rebalance is cooperative (partitions are revoked incrementally) only
	// when every offered assignor is cooperative, as in Kafka.
	Assignors []string
	// SessionTimeout: the coordinator removes the member when no
	// heartbeat arrives within it. RebalanceTimeout: how long the
	// coordinator waits for members to rejoin (max.poll.interval.ms).
	// HeartbeatInterval: the heartbeat period.
	SessionTimeout    time.Duration
	RebalanceTimeout  time.Duration
	HeartbeatInterval time.Duration
	// AutoCommit commits the positions of the records Poll returned every
	// AutoCommitInterval (checked in Poll), before partitions are revoked,
	// and on Close.
	AutoCommit         bool
	AutoCommitInterval time.Duration
	// MetadataMaxAge is how often the group leader looks for partitions
	// added to the subscribed topics (or a subscribed topic created),
	// which calls for a new assignment.
	MetadataMaxAge time.Duration
	// AutoOffsetReset says where a partition without a committed offset
	// starts.
	AutoOffsetReset OffsetReset
	// InstanceID makes the member static (KIP-345): a restart within the
	// session timeout gets its partitions back without a rebalance.
	InstanceID string
	// OnAssigned, OnRevoked and OnLost are called from Poll (and Close)
	// with the partitions gained, given up and lost (taken away because
	// the membership expired: committing them is no longer possible).
	// OnLost defaults to OnRevoked. ctx is Poll's.
	OnAssigned func(ctx context.Context, tps []TopicPartition)
	OnRevoked  func(ctx context.Context, tps []TopicPartition)
	OnLost     func(ctx context.Context, tps []TopicPartition)
	// Consumer holds the fetch settings; its AutoOffsetReset is replaced by
	// the one above.
	Consumer ConsumerConfig
}

func (cfg *GroupConfig) applyDefaults() error {
	if cfg.GroupID == "" {
		return errors.New("client: group consumer needs a group id")
	}
	if len(cfg.Topics) == 0 {
		return errors.New("client: group consumer needs topics")
	}
	for _, t := range cfg.Topics {
		if err := ValidateTopicName(t); err != nil {
			return err
		}
	}
	if len(cfg.Assignors) == 0 {
		cfg.Assignors = DefaultAssignors
	}
	for _, name := range cfg.Assignors {
		if assignorByName(name) == nil {
			return fmt.Errorf("client: unknown assignor %q (want range, roundrobin or cooperative-sticky)", name)
		}
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.RebalanceTimeout == 0 {
		cfg.RebalanceTimeout = DefaultRebalanceTimeout
	}
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = min(DefaultHeartbeatInterval, cfg.SessionTimeout/3)
	}
	if cfg.AutoCommitInterval == 0 {
		cfg.AutoCommitInterval = DefaultAutoCommitInterval
	}
	if cfg.MetadataMaxAge == 0 {
		cfg.MetadataMaxAge = DefaultMetadataMaxAge
	}
	if cfg.SessionTimeout < 0 || cfg.RebalanceTimeout < 0 || cfg.HeartbeatInterval <= 0 || cfg.AutoCommitInterval < 0 || cfg.MetadataMaxAge < 0 {
		return errors.New("client: negative group consumer timeout")
	}
	if cfg.HeartbeatInterval >= cfg.SessionTimeout {
		return fmt.Errorf("client: heartbeat interval %v must be below the session timeout %v", cfg.HeartbeatInterval, cfg.SessionTimeout)
	}
	if cfg.OnLost == nil {
		cfg.OnLost = cfg.OnRevoked
	}
	cfg.Consumer.AutoOffsetReset = cfg.AutoOffsetReset
	return nil
}

// cooperative reports whether a consumer offering assignors rebalances
// incrementally: only when every one of them does, as in Kafka.
func cooperative(assignors []string) bool {
	return !slices.ContainsFunc(assignors, func(n string) bool { return n != "cooperative-sticky" })
}

func assignorByName(name string) assign.Assignor {
	switch name {
	case "range":
		return assign.Range{}
	case "roundrobin":
		return assign.RoundRobin{}
	case "cooperative-sticky":
		return assign.CooperativeSticky{}
	}
	return nil
}

// GroupConsumer consumes the partitions a consumer group assigns it. Poll
// joins the group, runs the rebalance callbacks and returns records; a
// background goroutine sends heartbeats. Positions start at the group's
// committed offsets (AutoOffsetReset without one).
//
// Like Kafka's consumer it is meant for one goroutine: Poll, Commit,
// CommitAsync, CommitOffsets and Close (the callbacks run on it).
type GroupConsumer struct {
	c           *Client
	cfg         GroupConfig
	cooperative bool
	consumer    *Consumer
	log         *slog.Logger

	// Owned by the Poll goroutine.
	owned []TopicPartition // the current assignment, sorted
	// unpositioned are owned partitions waiting (paused) for their
	// committed offsets. Invariant: a subset of owned.
	unpositioned []TopicPartition
	lastCommit   time.Time
	// pending delivers the outcome of the join round in progress; nil
	// when none runs.
	pending chan roundResult

	mu sync.Mutex // guards the following
	// coord is the coordinator's guardian, nil when unknown.
	coord      *actor.PID
	memberID   string
	generation int32 // -1 when not a member of a generation
	// round counts join rounds. Heartbeats and commits carry the round
	// they were sent in; what they report about an earlier round is
	// stale and ignored.
	round uint64
	// assignedCounts are the partition counts of the subscribed topics
	// the leader assigned, nil unless this member led the last round; the
	// heartbeat goroutine compares them with fresh metadata.
	assignedCounts map[string]int32
	// joined: the member has an assignment for generation and heartbeats.
	joined bool
	// rejoin: the coordinator asked for a rebalance. lost: the membership
	// expired; the partitions are lost.
	rejoin, lost bool
	fatal        error
	// pollCancel interrupts a Poll waiting for records when a rebalance
	// is needed.
	pollCancel context.CancelFunc
	closed     bool

	// runCtx ends on Close (or when the client closes): it stops the
	// heartbeat goroutine and async commits, which wg waits for.
	runCtx context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// NewGroupConsumer returns a group consumer; it joins the group on the
// first Poll.
func NewGroupConsumer(c *Client, cfg GroupConfig) (*GroupConsumer, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	cs, err := NewConsumer(c, cfg.Consumer)
	if err != nil {
		return nil, err
	}
	g := &GroupConsumer{
		c:           c,
		cfg:         cfg,
		cooperative: cooperative(cfg.Assignors),
		consumer:    cs,
		log:         c.log.With(slog.String("group", cfg.GroupID)),
		generation:  -1,
		lastCommit:  time.Now(),
	}
	g.runCtx, g.stop = context.WithCancel(c.ctx)
	g.wg.Add(1)
	go g.heartbeatLoop()
	return g, nil
}

// Assignment returns the partitions currently assigned to this member.
func (g *GroupConsumer) Assignment() []TopicPartition { return slices.Clone(g.owned) }

// MemberID returns the member id, "" before the first join.
func (g *GroupConsumer) MemberID() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.memberID
}

// Generation returns the generation of the current assignment, -1 when
// the consumer has none.
func (g *GroupConsumer) Generation() int32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.generation
}

// Poll joins or rejoins the group when needed (calling the rebalance
// callbacks), commits when auto-commit is due, and returns the next
// records of the assigned partitions, waiting until some arrive or ctx
// ends. A rebalance interrupts the wait; Poll then rejoins and goes on
// waiting.
func (g *GroupConsumer) Poll(ctx context.Context) ([]*Record, error) {
	for {
		if err := g.ensureActive(ctx); err != nil {
			return nil, err
		}
		g.maybeAutoCommit(ctx)
		pctx, cancel := context.WithCancel(ctx)
		g.mu.Lock()
		interrupt := g.rejoin || g.lost
		g.pollCancel = cancel
		g.mu.Unlock()
		if interrupt {
			cancel()
		}
		records, err := g.consumer.Poll(pctx)
		g.mu.Lock()
		g.pollCancel = nil
		g.mu.Unlock()
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.Canceled) {
			continue // interrupted for a rebalance
		}
		return records, err
	}
}

// Close commits (with AutoCommit), revokes the assignment, leaves the
// group (static members stay, as in Kafka, so a restart keeps their
// partitions) and stops the consumer. ctx bounds the commit and the
// leave.
func (g *GroupConsumer) Close(ctx context.Context) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	joined, lost := g.joined, g.lost
	g.mu.Unlock()
	var errs []error
	if joined && !lost && len(g.owned) > 0 {
		if g.cfg.AutoCommit {
			if err := g.Commit(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		g.revoke(ctx, g.owned, false)
	}
	if g.cfg.InstanceID == "" {
		if err := g.leave(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	g.stop()
	g.wg.Wait()
	errs = append(errs, g.consumer.Close(ctx))
	return errors.Join(errs...)
}
