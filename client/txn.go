package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/sluice-mq/sluice/messages"
)

// Errors of transactional producers.
var (
	// ErrNotTransactional means a transaction call on a producer without
	// a TransactionalID.
	ErrNotTransactional = errors.New("client: producer has no transactional id")
	// ErrTransactionsNotInitialized means a transaction call before
	// InitTransactions.
	ErrTransactionsNotInitialized = errors.New("client: InitTransactions has not completed")
	// ErrNoTransaction means a record or a transaction call outside
	// BeginTransaction ... CommitTransaction/AbortTransaction.
	ErrNoTransaction = errors.New("client: no transaction in progress")
	// ErrTransactionInProgress means BeginTransaction while one is open.
	ErrTransactionInProgress = errors.New("client: a transaction is already in progress")
	// ErrTransactionAborted wraps the error that made the open transaction
	// fail: it can only be aborted (AbortTransaction) and tried again.
	ErrTransactionAborted = errors.New("client: transaction must be aborted")
)

// DefaultTransactionTimeout is transaction.timeout.ms.
const DefaultTransactionTimeout = time.Minute

// txnPhase is where a transactional producer stands.
type txnPhase int8

const (
	txnUninitialized txnPhase = iota // before InitTransactions
	txnReady                         // no transaction open
	txnOpen                          // BeginTransaction called
	txnFatal                         // fenced or otherwise unusable
)

// txnManager is a transactional producer's transaction state: the
// partitions added to the open transaction (AddPartitionsToTxn goes out
// from a partition's sender before its first batch of the transaction)
// and the first error that doomed it.
//
// Safe for concurrent use.
type txnManager struct {
	p  *Producer
	id string

	mu sync.Mutex // guards the following
	// phase and the open transaction's state. Invariant: added is empty
	// unless phase == txnOpen.
	phase txnPhase
	added map[TopicPartition]bool
	// offsetsAdded is set once AddOffsetsToTxn succeeded in the open
	// transaction, so EndTxn is needed even without partitions.
	offsetsAdded bool
	// failed is the first error of the open transaction (a record that
	// could not be written, a refused partition); fatal is set when the
	// producer was fenced.
	failed error
	fatal  error
	// adding is set while an AddPartitionsToTxn is in flight; toAdd
	// collects the partitions for the next one; addDone is signalled when
	// one ends.
	adding  bool
	toAdd   map[TopicPartition]bool
	addDone *sync.Cond
}

func newTxnManager(p *Producer, id string) *txnManager {
	t := &txnManager{p: p, id: id, added: make(map[TopicPartition]bool), toAdd: make(map[TopicPartition]bool)}
	t.addDone = sync.NewCond(&t.mu)
	return t
}

// InitTransactions registers the producer's TransactionalID with its
// transaction coordinator: it gets the producer id and a new epoch, which
// fences every older producer with the same id (their transactions are
// aborted; their later writes and commits fail with PRODUCER_FENCED).
// Call it once, before the first BeginTransaction.
func (p *Producer) InitTransactions(ctx context.Context) error {
	t := p.txn
	if t == nil {
		return ErrNotTransactional
	}
	if _, err := p.session.identity(ctx); err != nil {
		return t.noteFatal(fmt.Errorf("client: init transactions: %w", err))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.phase == txnUninitialized {
		t.phase = txnReady
	}
	return nil
}

// BeginTransaction opens a transaction: records produced from now on
// (ProduceAsync, Produce) belong to it until CommitTransaction or
// AbortTransaction. It makes no broker call.
func (p *Producer) BeginTransaction() error {
	t := p.txn
	if t == nil {
		return ErrNotTransactional
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch t.phase {
	case txnUninitialized:
		return ErrTransactionsNotInitialized
	case txnOpen:
		return ErrTransactionInProgress
	case txnFatal:
		return t.fatal
	}
	t.phase, t.failed, t.offsetsAdded = txnOpen, nil, false
	clear(t.added)
	return nil
}

// ConsumerGroupMetadata identifies a group member for
// SendOffsetsToTransaction, so the group coordinator refuses offsets of a
// member that was fenced by a rebalance (KIP-447).
type ConsumerGroupMetadata struct {
	GroupID         string
	MemberID        string // "" skips the member check
	GroupInstanceID string
	Generation      int32 // -1 skips the generation check
}

// GroupMetadata returns the member's identity for SendOffsetsToTransaction.
func (g *GroupConsumer) GroupMetadata() ConsumerGroupMetadata {
	g.mu.Lock()
	defer g.mu.Unlock()
	return ConsumerGroupMetadata{GroupID: g.cfg.GroupID, MemberID: g.memberID, GroupInstanceID: g.cfg.InstanceID, Generation: g.generation}
}

// SendOffsetsToTransaction commits offsets (the next offset to consume per
// partition) for the group as part of the open transaction: they become
// the group's committed offsets only if the transaction commits
// (read-process-write exactly once).
func (p *Producer) SendOffsetsToTransaction(ctx context.Context, offsets map[TopicPartition]int64, group ConsumerGroupMetadata) error {
	t := p.txn
	if t == nil {
		return ErrNotTransactional
	}
	if err := t.check(); err != nil {
		return err
	}
	if group.GroupID == "" {
		return fmt.Errorf("client: send offsets to transaction: %w", messages.ErrInvalidGroupID)
	}
	// The group's coordinator first: finding it creates __consumer_offsets,
	// whose partition for the group joins the transaction.
	if _, err := p.c.findCoordinator(ctx, group.GroupID); err != nil {
		return t.noteFailure(fmt.Errorf("client: send offsets to transaction: %w", err))
	}
	pi := p.session.current()
	_, err := txnCall[*messages.AddOffsetsToTxnResponse](ctx, p.c, t.id, &messages.AddOffsetsToTxnRequest{
		TransactionalId: t.id, ProducerId: pi.id, ProducerEpoch: int32(pi.epoch), GroupId: group.GroupID,
	}, nil)
	if err != nil {
		return t.noteFailure(fmt.Errorf("client: add offsets of group %q to the transaction: %w", group.GroupID, err))
	}
	t.mu.Lock()
	t.offsetsAdded = true
	t.mu.Unlock()
	req := &messages.TxnOffsetCommitRequest{
		TransactionalId: t.id, GroupId: group.GroupID, ProducerId: pi.id, ProducerEpoch: int32(pi.epoch),
		GenerationId: group.Generation, MemberId: group.MemberID, GroupInstanceId: group.GroupInstanceID,
	}
	byTopic := map[string]*messages.TxnOffsetCommitTopic{}
	for tp, off := range offsets {
		mt := byTopic[tp.Topic]
		if mt == nil {
			mt = &messages.TxnOffsetCommitTopic{Name: tp.Topic}
			byTopic[tp.Topic] = mt
			req.Topics = append(req.Topics, mt)
		}
		mt.Partitions = append(mt.Partitions, &messages.TxnOffsetCommitPartition{Partition: tp.Partition, CommittedOffset: off, CommittedLeaderEpoch: -1})
	}
	_, err = groupCall[*messages.TxnOffsetCommitResponse](ctx, p.c, group.GroupID, req, func(r *messages.TxnOffsetCommitResponse) error {
		for _, t := range r.GetTopics() {
			for _, pr := range t.GetPartitions() {
				if pr.GetErrorCode() != messages.ErrorCode_NONE {
					return fmt.Errorf("%s/%d: %w", t.GetName(), pr.GetPartition(), messages.ErrorForCode(pr.GetErrorCode(), ""))
				}
			}
		}
		return nil
	})
	if err != nil {
		return t.noteFailure(fmt.Errorf("client: commit offsets of group %q in the transaction: %w", group.GroupID, err))
	}
	return nil
}

// CommitTransaction sends every record of the open transaction, waits for
// their acknowledgements, and commits it: the records become visible to
// read_committed consumers and the offsets sent with it become the group's.
// If a record failed, the transaction cannot commit: the error wraps
// ErrTransactionAborted and the caller must AbortTransaction. After
// PRODUCER_FENCED the producer is unusable.
func (p *Producer) CommitTransaction(ctx context.Context) error {
	return p.endTransaction(ctx, true)
}

// AbortTransaction waits for the records of the open transaction to be
// answered and aborts it: none of them become visible to read_committed
// consumers, and the offsets sent with it are dropped.
func (p *Producer) AbortTransaction(ctx context.Context) error {
	return p.endTransaction(ctx, false)
}

func (p *Producer) endTransaction(ctx context.Context, commit bool) error {
	t := p.txn
	if t == nil {
		return ErrNotTransactional
	}
	t.mu.Lock()
	switch {
	case t.phase == txnFatal:
		t.mu.Unlock()
		return t.fatal
	case t.phase != txnOpen:
		t.mu.Unlock()
		return ErrNoTransaction
	}
	t.mu.Unlock()
	if err := p.Flush(ctx); err != nil {
		return fmt.Errorf("client: end transaction: %w", err)
	}
	t.mu.Lock()
	failed, need := t.failed, len(t.added) > 0 || t.offsetsAdded
	t.mu.Unlock()
	if commit && failed != nil {
		return fmt.Errorf("%w: %w", ErrTransactionAborted, failed)
	}
	if need {
		pi := p.session.current()
		_, err := txnCall[*messages.EndTxnResponse](ctx, p.c, t.id, &messages.EndTxnRequest{
			TransactionalId: t.id, ProducerId: pi.id, ProducerEpoch: int32(pi.epoch), Committed: commit,
		}, nil)
		if err != nil {
			what := "abort"
			if commit {
				what = "commit"
			}
			return t.noteFailure(fmt.Errorf("client: %s transaction: %w", what, err))
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.phase == txnOpen {
		t.phase, t.failed, t.offsetsAdded = txnReady, nil, false
		clear(t.added)
	}
	return nil
}

// check reports whether the open transaction can take more work.
func (t *txnManager) check() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch t.phase {
	case txnUninitialized:
		return ErrTransactionsNotInitialized
	case txnReady:
		return ErrNoTransaction
	case txnFatal:
		return t.fatal
	}
	if t.failed != nil {
		return fmt.Errorf("%w: %w", ErrTransactionAborted, t.failed)
	}
	return nil
}

// noteFailure records the first failure of the open transaction (fatal
// for a fenced producer) and returns err.
func (t *txnManager) noteFailure(err error) error {
	if fencedError(err) {
		return t.noteFatal(err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.phase == txnOpen && t.failed == nil {
		t.failed = err
	}
	return err
}

// noteFatal makes the producer unusable for transactions.
func (t *txnManager) noteFatal(err error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fencedError(err) && t.fatal == nil {
		t.phase, t.fatal = txnFatal, err
	}
	return err
}

// fencedError reports whether err means another instance took over the
// transactional id.
func fencedError(err error) bool {
	return errors.Is(err, messages.ErrProducerFenced) || errors.Is(err, messages.ErrInvalidProducerEpoch) ||
		errors.Is(err, messages.ErrTransactionalIDNotFound) || errors.Is(err, messages.ErrInvalidProducerIDMapping)
}

// mayBump allows a KIP-360 epoch bump (a partition lost the producer's
// sequence state) only while the coordinator has no transaction of this
// producer open: with partitions or offsets added, the bump would abort
// the transaction behind the application's back, so the transaction fails
// instead (ErrTransactionAborted) and the bump happens for the first
// batch after the abort.
func (t *txnManager) mayBump() error {
	t.mu.Lock()
	open := t.phase == txnOpen && (len(t.added) > 0 || t.offsetsAdded)
	t.mu.Unlock()
	if !open {
		return nil
	}
	return t.noteFailure(fmt.Errorf("%w: a partition lost the producer's sequence state", ErrTransactionAborted))
}

// admit checks that a record may join the open transaction and wraps its
// callback so a failed write dooms the transaction.
func (t *txnManager) admit(callback func(RecordMetadata, error)) (func(RecordMetadata, error), error) {
	if err := t.check(); err != nil {
		return callback, err
	}
	return func(md RecordMetadata, err error) {
		if err != nil {
			t.noteFailure(err)
		}
		callback(md, err)
	}, nil
}

// addPartition adds tp to the open transaction before its first batch.
// Called from tp's sender goroutine; the senders of a transaction's new
// partitions share requests: while one AddPartitionsToTxn is in flight the
// others queue their partitions, and the next request carries them all
// (the coordinator takes one write at a time per transactional id).
func (t *txnManager) addPartition(ctx context.Context, tp TopicPartition) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		switch {
		case t.added[tp]:
			return nil
		case t.phase != txnOpen:
			return ErrNoTransaction
		case t.failed != nil:
			return fmt.Errorf("%w: %w", ErrTransactionAborted, t.failed)
		case ctx.Err() != nil:
			return ctxError(ctx, "adding a partition to the transaction")
		}
		if t.adding {
			t.toAdd[tp] = true
			t.addDone.Wait()
			continue
		}
		t.toAdd[tp] = true
		batch := make([]TopicPartition, 0, len(t.toAdd))
		for p := range t.toAdd {
			batch = append(batch, p)
		}
		clear(t.toAdd)
		t.adding = true
		t.mu.Unlock()
		err := t.sendAdd(ctx, batch)
		t.mu.Lock()
		t.adding = false
		if err == nil && t.phase == txnOpen {
			for _, p := range batch {
				t.added[p] = true
			}
		}
		t.addDone.Broadcast()
		if err != nil {
			t.mu.Unlock()
			err = t.noteFailure(err)
			t.mu.Lock()
			return err
		}
	}
}

// sendAdd is one AddPartitionsToTxn for partitions.
func (t *txnManager) sendAdd(ctx context.Context, partitions []TopicPartition) error {
	byTopic := map[string]*messages.AddPartitionsToTxnTopic{}
	var topics []*messages.AddPartitionsToTxnTopic
	for _, tp := range partitions {
		mt := byTopic[tp.Topic]
		if mt == nil {
			mt = &messages.AddPartitionsToTxnTopic{Name: tp.Topic}
			byTopic[tp.Topic] = mt
			topics = append(topics, mt)
		}
		mt.Partitions = append(mt.Partitions, tp.Partition)
	}
	pi := t.p.session.current()
	_, err := txnCall[*messages.AddPartitionsToTxnResponse](ctx, t.p.c, t.id, &messages.AddPartitionsToTxnRequest{
		TransactionalId: t.id, ProducerId: pi.id, ProducerEpoch: int32(pi.epoch), Topics: topics,
	}, nil)
	if err != nil {
		return fmt.Errorf("add %d partitions to the transaction: %w", len(partitions), err)
	}
	return nil
}

// ensureInTransaction adds the partition to the open transaction before
// its queued batches are sent; on failure they fail with the error. It
// waits up to the transaction timeout (past it the coordinator aborts the
// transaction anyway), so a coordinator failover does not fail it.
func (s *sender) ensureInTransaction() bool {
	ctx, cancel := context.WithTimeout(s.p.ctx, max(s.p.cfg.RequestTimeout, s.p.cfg.TransactionTimeout))
	err := s.p.txn.addPartition(ctx, s.tp)
	cancel()
	if err != nil {
		s.failQueue(err)
		return false
	}
	return true
}

// findTxnCoordinator asks any broker which node coordinates the
// transactional id and returns that node's guardian.
func (c *Client) findTxnCoordinator(ctx context.Context, id string) (*actor.PID, error) {
	var pid *actor.PID
	err := c.retry(ctx, func(attempt int) error {
		cands := c.metadataCandidates()
		addr := cands[attempt%len(cands)]
		res, err := call[*messages.FindCoordinatorResponse](ctx, c, actor.NewPID(addr, messages.NodeActorID),
			&messages.FindCoordinatorRequest{GroupId: id, KeyType: messages.CoordinatorKeyType_TRANSACTION}, c.cfg.RequestTimeout)
		if errors.Is(err, errNoActor) {
			return fmt.Errorf("%w: %w", messages.ErrorForCode(messages.ErrorCode_NETWORK_EXCEPTION, "node "+addr+" unreachable"), err)
		}
		if err != nil {
			return err
		}
		pid = actor.NewPID(res.GetAddress(), messages.NodeActorID)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find coordinator of transactional id %q: %w", id, err)
	}
	return pid, nil
}

// Backoff of requests answered CONCURRENT_TRANSACTIONS (the previous
// transaction's markers are being written, a few milliseconds as a rule):
// short at first, as Kafka's producer retries them, doubling up to the
// client's RetryBackoff.
const concurrentBackoff = 5 * time.Millisecond

// txnCall sends a request about transactional id to its coordinator,
// found once and cached on the client (again after coordinator errors).
// Retriable errors are retried; CONCURRENT_TRANSACTIONS and
// COORDINATOR_LOAD_IN_PROGRESS are retried until ctx ends, the former
// after a short backoff.
func txnCall[T response](ctx context.Context, c *Client, id string, req proto.Message, check func(T) error) (T, error) {
	var res T
	op := func(int) error {
		coord, err := c.txnCoordinator(ctx, id)
		if err != nil {
			return permanent(err)
		}
		res, err = call[T](ctx, c, coord, req, c.cfg.RequestTimeout)
		if err == nil && check != nil {
			err = check(res)
		}
		if coordinatorError(err) {
			c.forgetTxnCoordinator(id, coord)
			if errors.Is(err, errNoActor) {
				err = fmt.Errorf("%w: %w", messages.ErrorForCode(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "coordinator unreachable"), err)
			}
		}
		if errors.Is(err, messages.ErrConcurrentTransactions) {
			return permanent(err) // retried below, sooner
		}
		return err
	}
	backoff := concurrentBackoff
	for {
		err := c.retry(ctx, op)
		switch {
		case errors.Is(err, messages.ErrConcurrentTransactions):
			if e := c.sleep(ctx, backoff); e != nil {
				return res, fmt.Errorf("%w (retrying after: %w)", e, err)
			}
			backoff = min(2*backoff, c.cfg.RetryBackoff)
			continue
		case errors.Is(err, messages.ErrCoordinatorLoadInProgress):
			if e := c.sleep(ctx, c.cfg.backoff(1)); e == nil {
				continue
			}
		}
		var perm *permanentError
		if errors.As(err, &perm) && errors.Is(err, messages.ErrConcurrentTransactions) {
			err = perm.err
		}
		return res, err
	}
}

// txnCoordinators caches the coordinator of each transactional id the
// client's producers use. Bounded by those ids.
type txnCoordinators struct {
	mu   sync.Mutex
	byID map[string]*actor.PID
}

// txnCoordinator returns the cached coordinator of id, finding it first.
func (c *Client) txnCoordinator(ctx context.Context, id string) (*actor.PID, error) {
	c.txnCoords.mu.Lock()
	pid := c.txnCoords.byID[id]
	c.txnCoords.mu.Unlock()
	if pid != nil {
		return pid, nil
	}
	pid, err := c.findTxnCoordinator(ctx, id)
	if err != nil {
		return nil, err
	}
	c.txnCoords.mu.Lock()
	if c.txnCoords.byID == nil {
		c.txnCoords.byID = make(map[string]*actor.PID)
	}
	c.txnCoords.byID[id] = pid
	c.txnCoords.mu.Unlock()
	return pid, nil
}

// forgetTxnCoordinator drops pid as id's coordinator.
func (c *Client) forgetTxnCoordinator(id string, pid *actor.PID) {
	c.txnCoords.mu.Lock()
	defer c.txnCoords.mu.Unlock()
	if cur := c.txnCoords.byID[id]; cur != nil && cur.Equal(pid) {
		delete(c.txnCoords.byID, id)
	}
}

// initTransactionalID is InitProducerId for a transactional id, sent to
// its coordinator.
func (c *Client) initTransactionalID(ctx context.Context, id string, timeout time.Duration, from producerIdentity) (*messages.InitProducerIdResponse, error) {
	return txnCall[*messages.InitProducerIdResponse](ctx, c, id, &messages.InitProducerIdRequest{
		TransactionalId:      id,
		TransactionTimeoutMs: int32(timeout / time.Millisecond),
		ProducerId:           from.id,
		ProducerEpoch:        int32(from.epoch),
	}, nil)
}

// applyTransactional checks and completes a transactional config: a
// transactional producer is idempotent.
func (cfg *ProducerConfig) applyTransactional() error {
	if cfg.TransactionalID == "" {
		return nil
	}
	if cfg.Idempotence == IdempotenceOff {
		return errors.New("client: a TransactionalID requires idempotence; do not set IdempotenceOff")
	}
	cfg.Idempotence = IdempotenceOn
	switch {
	case cfg.TransactionTimeout == 0:
		cfg.TransactionTimeout = DefaultTransactionTimeout
	case cfg.TransactionTimeout < time.Millisecond:
		return fmt.Errorf("client: invalid transaction timeout %v", cfg.TransactionTimeout)
	}
	return nil
}
