package txn

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/controller"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/txnstate"
)

// handleDescribe asks each named id's actor for its state; ids this node
// does not coordinate get an error entry. The futures continue on the
// guardian with ReenterAfter, so nothing blocks its mailbox.
func (h *Host) handleDescribe(ctx actor.Context, view controller.ClusterView, m *messages.DescribeTransactionsRequest) {
	results := make([]*messages.DescribedTransaction, len(m.TransactionalIds))
	pending := 0
	finish := func() {
		ctx.Respond(&messages.DescribeTransactionsResponse{TransactionStates: results})
	}
	for i, id := range m.TransactionalIds {
		p, epoch, err := h.coordinates(view, id)
		var pid *actor.PID
		if err == nil {
			pid, err = h.actorFor(ctx, id, p, epoch)
		}
		if err != nil {
			results[i] = errorFor(&messages.DescribeTransactionsRequest{TransactionalIds: []string{id}}, err).(*messages.DescribeTransactionsResponse).TransactionStates[0]
			continue
		}
		pending++
		one := &messages.DescribeTransactionsRequest{TransactionalIds: []string{id}}
		ctx.ReenterAfter(ctx.RequestFuture(pid, one, gatherTimeout), func(res any, err error) {
			d, ok := res.(*messages.DescribeTransactionsResponse)
			if err != nil || !ok || len(d.TransactionStates) != 1 {
				if err == nil {
					err = messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "unexpected reply %T", res)
				}
				d = errorFor(one, messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "transactional id %q: %v", id, err)).(*messages.DescribeTransactionsResponse)
			}
			results[i] = d.TransactionStates[0]
			pending--
			if pending == 0 {
				finish()
			}
		})
	}
	if pending == 0 {
		finish()
	}
}

// handleList lists the transactional ids of the __transaction_state
// partitions this node leads, as their records say (an actor's state
// changes only once its record is written), filtered like Kafka's
// ListTransactions. A short-lived lister actor scans the partitions, so
// the guardian's mailbox keeps moving.
func (h *Host) handleList(ctx actor.Context, view controller.ClusterView, m *messages.ListTransactionsRequest) {
	job := &lister{replyTo: ctx.Sender(), req: m, fetch: h.cfg.LoadFetchBytes, now: h.cfg.Now()}
	if t, ok := view.Snapshot.Topics[messages.TransactionStateTopic]; ok {
		for p := range int32(t.Partitions()) {
			if st, ok := view.Snapshot.State(messages.TransactionStateTopic, p); ok && st.Leader == h.nodeID {
				job.partitions = append(job.partitions, p)
			}
		}
	}
	ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return job }))
}

// lister scans partitions, then answers and stops. Owned by its actor.
type lister struct {
	replyTo    *actor.PID
	req        *messages.ListTransactionsRequest
	fetch      int32
	now        time.Time
	partitions []int32
	pending    int
	resp       messages.ListTransactionsResponse
	failed     error
}

func (l *lister) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		for _, p := range l.partitions {
			l.pending++
			ctx.Spawn(scanProps(p, 0, ctx.Self(), l.fetch, listScanPatience))
		}
		if l.pending == 0 {
			l.answer(ctx)
		}
	case *partitionScanned:
		l.pending--
		if m.err != nil && l.failed == nil {
			l.failed = m.err
		}
		if m.err == nil {
			l.add(m.replay)
		}
		if l.pending == 0 {
			l.answer(ctx)
		}
	}
}

func (l *lister) add(replay *txnstate.Replay) {
	states := map[txnstate.State]bool{}
	for _, name := range l.req.StateFilters {
		if s, ok := txnstate.ParseState(name); ok {
			states[s] = true
		}
	}
	for id, md := range replay.Txns {
		if len(l.req.StateFilters) > 0 && !states[md.State] {
			continue
		}
		if len(l.req.ProducerIdFilters) > 0 && !slices.Contains(l.req.ProducerIdFilters, md.ProducerID) {
			continue
		}
		if d := l.req.DurationFilterMs; d > 0 && (md.StartTimestamp < 0 || l.now.UnixMilli()-md.StartTimestamp < d) {
			continue
		}
		l.resp.TransactionStates = append(l.resp.TransactionStates, &messages.ListedTransaction{
			TransactionalId: id, ProducerId: md.ProducerID, TransactionState: md.State.String(),
		})
	}
}

func (l *lister) answer(ctx actor.Context) {
	for _, name := range l.req.StateFilters {
		if _, ok := txnstate.ParseState(name); !ok {
			l.resp.UnknownStateFilters = append(l.resp.UnknownStateFilters, name)
		}
	}
	slices.SortFunc(l.resp.TransactionStates, func(a, b *messages.ListedTransaction) int {
		switch {
		case a.TransactionalId < b.TransactionalId:
			return -1
		case a.TransactionalId > b.TransactionalId:
			return 1
		}
		return 0
	})
	if l.failed != nil {
		l.resp.ErrorCode = messages.ErrorCode_COORDINATOR_LOAD_IN_PROGRESS
		l.resp.ErrorMessage = l.failed.Error()
		l.resp.TransactionStates = nil
	}
	if l.replyTo != nil {
		ctx.Send(l.replyTo, &l.resp)
	}
	ctx.Stop(ctx.Self())
}
