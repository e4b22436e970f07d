package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
)

// TransactionListing is one transactional id as ListTransactions reports
// it.
type TransactionListing struct {
	TransactionalID string `json:"transactional_id"`
	ProducerID      int64  `json:"producer_id"`
	State           string `json:"state"`
	// Coordinator is the node id of the id's transaction coordinator.
	Coordinator int32 `json:"coordinator"`
}

// TransactionFilter narrows ListTransactions; the zero value lists all.
type TransactionFilter struct {
	// States are Kafka state names (Ongoing, PrepareCommit, ...).
	States []string
	// ProducerIDs keeps only these producers.
	ProducerIDs []int64
	// OpenLongerThan keeps only transactions open for longer.
	OpenLongerThan time.Duration
}

// ListTransactions asks every broker for the transactional ids it
// coordinates and returns them sorted by id. A broker that does not answer
// fails the call: the list would be incomplete. A state name that no
// state has is an error.
func (c *Client) ListTransactions(ctx context.Context, filter TransactionFilter) ([]TransactionListing, error) {
	s, err := c.refreshMetadata(ctx)
	if err != nil {
		return nil, err
	}
	req := &messages.ListTransactionsRequest{StateFilters: filter.States, ProducerIdFilters: filter.ProducerIDs,
		DurationFilterMs: filter.OpenLongerThan.Milliseconds()}
	var (
		mu      sync.Mutex
		out     []TransactionListing
		errs    []error
		unknown []string
		wg      sync.WaitGroup
	)
	for _, b := range s.brokers {
		wg.Go(func() {
			var res *messages.ListTransactionsResponse
			err := c.retry(ctx, func(int) error {
				var err error
				res, err = call[*messages.ListTransactionsResponse](ctx, c, actor.NewPID(b.Address, messages.NodeActorID), req, c.cfg.RequestTimeout)
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("list transactions on node %d: %w", b.NodeID, err))
				return
			}
			unknown = res.GetUnknownStateFilters()
			for _, t := range res.GetTransactionStates() {
				out = append(out, TransactionListing{TransactionalID: t.GetTransactionalId(), ProducerID: t.GetProducerId(),
					State: t.GetTransactionState(), Coordinator: b.NodeID})
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("client: unknown transaction states %s", strings.Join(unknown, ", "))
	}
	slices.SortFunc(out, func(a, b TransactionListing) int { return strings.Compare(a.TransactionalID, b.TransactionalID) })
	return out, nil
}

// TransactionDescription is a transactional id's state at its coordinator.
type TransactionDescription struct {
	TransactionalID string        `json:"transactional_id"`
	State           string        `json:"state"`
	ProducerID      int64         `json:"producer_id"`
	ProducerEpoch   int16         `json:"producer_epoch"`
	Timeout         time.Duration `json:"timeout"`
	// StartTime is when the open transaction began; zero when none is.
	StartTime  time.Time        `json:"start_time,omitzero"`
	Partitions []TopicPartition `json:"partitions"`
	// Coordinator is the node id of the id's transaction coordinator.
	Coordinator int32 `json:"coordinator"`
}

// DescribeTransaction returns the state of a transactional id, asked of
// its coordinator. An id with no state fails with
// messages.ErrTransactionalIDNotFound.
func (c *Client) DescribeTransaction(ctx context.Context, id string) (TransactionDescription, error) {
	res, err := txnCall[*messages.DescribeTransactionsResponse](ctx, c, id, &messages.DescribeTransactionsRequest{TransactionalIds: []string{id}},
		func(r *messages.DescribeTransactionsResponse) error {
			if len(r.GetTransactionStates()) != 1 {
				return messages.ErrorForCode(messages.ErrorCode_UNKNOWN_SERVER_ERROR, fmt.Sprintf("%d states for one id", len(r.GetTransactionStates())))
			}
			st := r.GetTransactionStates()[0]
			return messages.ErrorForCode(st.GetErrorCode(), st.GetErrorMessage())
		})
	if err != nil {
		return TransactionDescription{}, fmt.Errorf("describe transactional id %q: %w", id, err)
	}
	st := res.GetTransactionStates()[0]
	d := TransactionDescription{
		TransactionalID: id, State: st.GetTransactionState(), ProducerID: st.GetProducerId(), ProducerEpoch: int16(st.GetProducerEpoch()),
		Timeout: time.Duration(st.GetTransactionTimeoutMs()) * time.Millisecond, Partitions: []TopicPartition{},
	}
	if ms := st.GetTransactionStartTimeMs(); ms >= 0 {
		d.StartTime = time.UnixMilli(ms)
	}
	for _, t := range st.GetTopics() {
		for _, p := range t.GetPartitions() {
			d.Partitions = append(d.Partitions, TopicPartition{Topic: t.GetTopic(), Partition: p})
		}
	}
	if coord, err := c.findTxnCoordinator(ctx, id); err == nil {
		for _, b := range c.meta.Load().brokers {
			if b.Address == coord.Address {
				d.Coordinator = b.NodeID
			}
		}
	}
	return d, nil
}
