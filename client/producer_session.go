package client

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// producerIdentity is a producer id and epoch; noProducer before the
// first InitProducerId.
type producerIdentity struct {
	id    int64
	epoch int16
}

var noProducer = producerIdentity{id: -1, epoch: -1}

func (pi producerIdentity) String() string {
	return fmt.Sprintf("producer %d epoch %d", pi.id, pi.epoch)
}

// session is an idempotent producer's identity towards the brokers: the
// producer id and epoch InitProducerId handed out, shared by every
// partition. The sequences of each partition live in its sender
// (producer_sequence.go), which restarts them at 0 whenever it moves to a
// newer epoch. A transactional layer extends the session with its
// transactional id (sent in InitProducerId, which then goes to the
// transaction coordinator and fences older instances).
//
// A session is safe for concurrent use; its calls block on the broker.
type session struct {
	c               *Client
	transactionalID string
	// txnTimeout is the transaction timeout sent with a transactional id.
	txnTimeout time.Duration
	// mayBump, set for a transactional id, refuses an epoch bump while
	// the coordinator has a transaction of the session open: the bump
	// would abort it (client/txn.go).
	mayBump func() error

	mu  sync.Mutex // held across InitProducerId, so one call runs at a time
	cur producerIdentity
}

func newSession(c *Client, transactionalID string) *session {
	return &session{c: c, transactionalID: transactionalID, cur: noProducer}
}

// identity returns the session's id and epoch, asking a broker for them
// (InitProducerId) on first use.
func (s *session) identity(ctx context.Context) (producerIdentity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.id >= 0 {
		return s.cur, nil
	}
	pi, err := s.initProducerID(ctx, noProducer)
	if err != nil {
		return noProducer, err
	}
	s.cur = pi
	return pi, nil
}

// current is the identity without a broker call (noProducer before the
// first one).
func (s *session) current() producerIdentity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// bump moves the session past from, the identity a partition's sequences
// belong to, when that partition lost its sequence state on the broker
// (KIP-360): InitProducerId with from returns the same id with the next
// epoch, or a new id once the epoch is exhausted. When another partition
// already moved the session on, its newer identity is returned without a
// call: the partition asking has never used it, so its sequences may
// start at 0 under it.
func (s *session) bump(ctx context.Context, from producerIdentity) (producerIdentity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != from && s.cur.id >= 0 {
		return s.cur, nil
	}
	if s.mayBump != nil {
		if err := s.mayBump(); err != nil {
			return noProducer, err
		}
	}
	pi, err := s.initProducerID(ctx, from)
	if err != nil {
		return noProducer, err
	}
	s.cur = pi
	return pi, nil
}

// initProducerID asks a broker for an identity; from is the current one
// for an epoch bump, noProducer for a new session.
func (s *session) initProducerID(ctx context.Context, from producerIdentity) (producerIdentity, error) {
	var res *messages.InitProducerIdResponse
	var err error
	if s.transactionalID != "" {
		res, err = s.c.initTransactionalID(ctx, s.transactionalID, s.txnTimeout, from)
	} else {
		res, err = anyNodeCall[*messages.InitProducerIdResponse](ctx, s.c, &messages.InitProducerIdRequest{
			ProducerId:    from.id,
			ProducerEpoch: int32(from.epoch),
		})
	}
	if err != nil {
		return noProducer, fmt.Errorf("client: init producer id: %w", err)
	}
	pi := producerIdentity{id: res.GetProducerId(), epoch: int16(res.GetProducerEpoch())}
	if pi.id < 0 || res.GetProducerEpoch() < 0 || res.GetProducerEpoch() > math.MaxInt16 {
		return noProducer, fmt.Errorf("client: init producer id: %w", messages.ErrorForCode(messages.ErrorCode_UNKNOWN_SERVER_ERROR,
			fmt.Sprintf("broker answered producer id %d epoch %d", res.GetProducerId(), res.GetProducerEpoch())))
	}
	return pi, nil
}
