package group

import (
	"fmt"
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/controller"
	core "github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
)

// handleListGroups lists the groups this node coordinates: those recorded
// in the __consumer_offsets partitions it leads, with the live state of
// the ones whose actor runs. The work (a scan of each partition and a
// question to each live actor) is done by a short-lived lister actor, so
// the guardian's mailbox keeps moving.
func (h *Host) handleListGroups(ctx actor.Context, view controller.ClusterView, m *messages.ListGroupsRequest) {
	job := listJob{replyTo: ctx.Sender(), filter: m.StatesFilter, live: make(map[string]*actor.PID)}
	if t, ok := view.Snapshot.Topics[messages.ConsumerOffsetsTopic]; ok {
		for p := range int32(t.Partitions()) {
			if st, ok := view.Snapshot.State(messages.ConsumerOffsetsTopic, p); ok && st.Leader == h.nodeID {
				job.partitions = append(job.partitions, p)
			}
		}
	}
	for g, pid := range h.groups {
		if _, _, err := h.coordinates(view, g); err != nil {
			continue
		}
		if _, alive := ctx.ActorSystem().ProcessRegistry.GetLocal(pid.Id); alive {
			job.live[g] = pid
		}
	}
	job.address = ctx.Self().Address
	ctx.ActorSystem().Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &lister{job: job, replay: core.NewReplay(), live: make(map[string]*messages.DescribedGroup)}
	}))
}

// listJob is what a lister needs; it answers replyTo.
type listJob struct {
	replyTo    *actor.PID
	filter     []string
	address    string
	partitions []int32
	live       map[string]*actor.PID
}

// lister scans partitions and asks live actors, then answers and stops.
// Owned by its actor.
type lister struct {
	job     listJob
	replay  *core.Replay
	live    map[string]*messages.DescribedGroup
	pending int
	failed  error
}

func (l *lister) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); !ok {
		return
	}
	for _, p := range l.job.partitions {
		l.pending++
		l.scan(ctx, p)
	}
	for g, pid := range l.job.live {
		l.pending++
		f := ctx.RequestFuture(pid, &messages.DescribeGroupsRequest{Groups: []string{g}}, gatherTimeout)
		ctx.ReenterAfter(f, func(res any, err error) {
			if d, ok := res.(*messages.DescribeGroupsResponse); ok && err == nil && len(d.Groups) == 1 && d.Groups[0].ErrorCode == messages.ErrorCode_NONE {
				l.live[g] = d.Groups[0]
			}
			l.done(ctx, nil)
		})
	}
	if l.pending == 0 {
		l.finish(ctx)
	}
}

// scan reads partition p from its log start to its high watermark.
func (l *lister) scan(ctx actor.Context, p int32) {
	replica := actor.NewPID(l.job.address, messages.ReplicaActorID(messages.ConsumerOffsetsTopic, p))
	req := &messages.PartitionStatusRequest{Topic: messages.ConsumerOffsetsTopic, Partition: p}
	ctx.ReenterAfter(ctx.RequestFuture(replica, req, loadStepTimeout), func(res any, err error) {
		status, ok := res.(*messages.PartitionStatusResponse)
		switch {
		case err != nil:
			l.done(ctx, err)
		case !ok || status.ErrorCode != messages.ErrorCode_NONE:
			l.done(ctx, fmt.Errorf("status of %s/%d: %v", messages.ConsumerOffsetsTopic, p, res))
		default:
			l.scanStep(ctx, replica, p, status.LogStartOffset, status.HighWatermark)
		}
	})
}

func (l *lister) scanStep(ctx actor.Context, replica *actor.PID, p int32, offset, end int64) {
	if offset >= end {
		l.done(ctx, nil)
		return
	}
	req := &messages.FetchRequest{Topic: messages.ConsumerOffsetsTopic, Partition: p, Offset: offset, MaxBytes: DefaultLoadFetchBytes, LeaderEpoch: -1}
	ctx.ReenterAfter(ctx.RequestFuture(replica, req, loadStepTimeout), func(res any, err error) {
		resp, ok := res.(*messages.FetchResponse)
		switch {
		case err != nil:
			l.done(ctx, err)
			return
		case !ok:
			l.done(ctx, fmt.Errorf("unexpected reply %T", res))
			return
		case resp.ErrorCode == messages.ErrorCode_OFFSET_OUT_OF_RANGE && offset < resp.LogStartOffset:
			l.scanStep(ctx, replica, p, resp.LogStartOffset, end)
			return
		case resp.ErrorCode != messages.ErrorCode_NONE:
			l.done(ctx, messages.ErrorForCode(resp.ErrorCode, resp.ErrorMessage))
			return
		}
		next, err := replayRecords(resp.Records, offset, "", l.replay, nil)
		if err != nil || next <= offset {
			l.done(ctx, err)
			return
		}
		l.scanStep(ctx, replica, p, next, end)
	})
}

func (l *lister) done(ctx actor.Context, err error) {
	if err != nil && l.failed == nil {
		l.failed = err
	}
	l.pending--
	if l.pending == 0 {
		l.finish(ctx)
	}
}

// finish answers with the merged list, sorted by group id, and stops.
func (l *lister) finish(ctx actor.Context) {
	groups := make(map[string]*messages.ListedGroup)
	for g, md := range l.replay.Groups {
		state := core.StateStable
		if len(md.Members) == 0 {
			state = core.StateEmpty
		}
		groups[g] = &messages.ListedGroup{GroupId: g, ProtocolType: md.ProtocolType, GroupState: state.String()}
	}
	for g := range l.replay.Offsets {
		if _, ok := groups[g]; !ok {
			groups[g] = &messages.ListedGroup{GroupId: g, GroupState: core.StateEmpty.String()}
		}
	}
	for g, d := range l.live {
		if d.GroupState == core.StateDead.String() {
			delete(groups, g)
			continue
		}
		groups[g] = &messages.ListedGroup{GroupId: g, ProtocolType: d.ProtocolType, GroupState: d.GroupState}
	}
	resp := &messages.ListGroupsResponse{}
	if l.failed != nil {
		resp.ErrorCode = messages.ErrorCode_COORDINATOR_LOAD_IN_PROGRESS
		resp.ErrorMessage = l.failed.Error()
	}
	for _, g := range sortedKeys(groups) {
		lg := groups[g]
		if len(l.job.filter) > 0 && !slices.ContainsFunc(l.job.filter, func(s string) bool { return strings.EqualFold(s, lg.GroupState) }) {
			continue
		}
		resp.Groups = append(resp.Groups, lg)
	}
	if l.job.replyTo != nil {
		ctx.Send(l.job.replyTo, resp)
	}
	ctx.Stop(ctx.Self())
}
