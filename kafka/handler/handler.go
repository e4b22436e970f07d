package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/kafka/wire"
	"github.com/sluice-mq/sluice/messages"
)

// Timeouts of requests to the node's actors that carry none of their own.
const (
	defaultTimeout = 30 * time.Second
	// slack is added to a client's own timeout so that the actor's answer
	// (often a timeout error of its own) arrives before the future gives up.
	slack = 5 * time.Second
)

// errNoAnswer is wrapped when an actor did not answer in time or answered
// with an unexpected type.
var errNoAnswer = errors.New("handler: no answer from the node")

// Config of a Handler.
type Config struct {
	// Root sends the requests; Guardian is the node actor.
	Root     *actor.RootContext
	Guardian *actor.PID
	// NodeID is this node's id.
	NodeID int32
	// TopicDefaults are the node's topic config defaults (DescribeConfigs);
	// the zero value means Kafka's.
	TopicDefaults metadata.TopicConfig
	// ZeroCopy answers Fetch with the replicas' file ranges (a
	// *wire.FileFetch that the connection sends with sendfile) instead
	// of batches copied into memory.
	ZeroCopy bool
	Logger   *slog.Logger
	// Metrics counts and times the requests; nil records nothing.
	Metrics *Metrics
}

// Handler answers Kafka requests; it is safe for concurrent use.
type Handler struct {
	cfg Config
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.TopicDefaults == (metadata.TopicConfig{}) {
		cfg.TopicDefaults = metadata.DefaultTopicConfig()
	}
	return &Handler{cfg: cfg}
}

// Handle starts one request in request order and returns the function
// that completes it (see server.Handler): Produce sends to the replicas
// at once, so that pipelined produces reach a partition in the order they
// were sent; every other request does all its work in the returned
// function.
func (h *Handler) Handle(ctx context.Context, req *wire.Request) func() kmsg.Response {
	start := time.Now()
	complete := h.handle(ctx, req)
	return func() kmsg.Response {
		resp := complete()
		h.cfg.Metrics.observe(req.Key, resp, start)
		return resp
	}
}

func (h *Handler) handle(ctx context.Context, req *wire.Request) func() kmsg.Response {
	if r, ok := req.Body.(*kmsg.ProduceRequest); ok {
		wait := h.produce(r)
		return func() kmsg.Response {
			resp := wait()
			if resp != nil {
				resp.SetVersion(req.Version)
			}
			return resp
		}
	}
	return func() kmsg.Response { return h.answer(ctx, req) }
}

func (h *Handler) answer(ctx context.Context, req *wire.Request) kmsg.Response {
	var resp kmsg.Response
	switch r := req.Body.(type) {
	case *kmsg.ApiVersionsRequest:
		resp = wire.ApiVersionsResponse(r.Version, 0)
	case *kmsg.MetadataRequest:
		resp = h.metadata(ctx, r)
	case *kmsg.FetchRequest:
		resp = h.fetch(ctx, r)
	case *kmsg.ListOffsetsRequest:
		resp = h.listOffsets(ctx, r)
	case *kmsg.FindCoordinatorRequest:
		resp = h.findCoordinator(ctx, r)
	case *kmsg.JoinGroupRequest:
		resp = h.joinGroup(ctx, r, req.ClientID)
	case *kmsg.SyncGroupRequest:
		resp = h.syncGroup(ctx, r)
	case *kmsg.HeartbeatRequest:
		resp = h.heartbeat(ctx, r)
	case *kmsg.LeaveGroupRequest:
		resp = h.leaveGroup(ctx, r)
	case *kmsg.OffsetCommitRequest:
		resp = h.offsetCommit(ctx, r)
	case *kmsg.OffsetFetchRequest:
		resp = h.offsetFetch(ctx, r)
	case *kmsg.DescribeGroupsRequest:
		resp = h.describeGroups(ctx, r)
	case *kmsg.ListGroupsRequest:
		resp = h.listGroups(ctx, r)
	case *kmsg.DeleteGroupsRequest:
		resp = h.deleteGroups(ctx, r)
	case *kmsg.CreateTopicsRequest:
		resp = h.createTopics(ctx, r)
	case *kmsg.DeleteTopicsRequest:
		resp = h.deleteTopics(ctx, r)
	case *kmsg.CreatePartitionsRequest:
		resp = h.createPartitions(ctx, r)
	case *kmsg.InitProducerIDRequest:
		resp = h.initProducerID(ctx, r)
	case *kmsg.AddPartitionsToTxnRequest:
		resp = h.addPartitionsToTxn(ctx, r)
	case *kmsg.AddOffsetsToTxnRequest:
		resp = h.addOffsetsToTxn(ctx, r)
	case *kmsg.EndTxnRequest:
		resp = h.endTxn(ctx, r)
	case *kmsg.TxnOffsetCommitRequest:
		resp = h.txnOffsetCommit(ctx, r)
	case *kmsg.DescribeProducersRequest:
		resp = h.describeProducers(ctx, r)
	case *kmsg.DescribeTransactionsRequest:
		resp = h.describeTransactions(ctx, r)
	case *kmsg.ListTransactionsRequest:
		resp = h.listTransactions(ctx, r)
	case *kmsg.OffsetForLeaderEpochRequest:
		resp = h.offsetForLeaderEpoch(ctx, r)
	case *kmsg.DescribeConfigsRequest:
		resp = h.describeConfigs(ctx, r)
	case *kmsg.AlterConfigsRequest:
		resp = h.alterConfigs(ctx, r)
	case *kmsg.IncrementalAlterConfigsRequest:
		resp = h.incrementalAlterConfigs(ctx, r)
	case *kmsg.DescribeClusterRequest:
		resp = h.describeCluster(ctx, r)
	case *kmsg.AlterPartitionAssignmentsRequest:
		resp = h.alterPartitionReassignments(ctx, r)
	case *kmsg.ListPartitionReassignmentsRequest:
		resp = h.listPartitionReassignments(ctx, r)
	case *kmsg.DeleteRecordsRequest:
		resp = h.deleteRecords(ctx, r)
	case *kmsg.DescribeLogDirsRequest:
		resp = h.describeLogDirs(ctx, r)
	case *kmsg.OffsetDeleteRequest:
		resp = h.offsetDelete(ctx, r)
	case *kmsg.ElectLeadersRequest:
		resp = h.electLeaders(ctx, r)
	default:
		// ParseRequest admits only served keys, each of which has a case.
		panic(fmt.Sprintf("handler: no handler for served key %d", req.Key))
	}
	if resp != nil {
		resp.SetVersion(req.Version)
	}
	return resp
}

// ask sends msg to the node guardian and waits for its answer of type T.
func ask[T any](ctx context.Context, h *Handler, msg any, timeout time.Duration) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	return await[T](h.send(msg, timeout), msg)
}

// send sends msg to the node guardian without waiting.
func (h *Handler) send(msg any, timeout time.Duration) actor.Future {
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	return h.cfg.Root.RequestFuture(h.cfg.Guardian, msg, timeout)
}

// await waits for the answer of type T to msg.
func await[T any](f actor.Future, msg any) (T, error) {
	var zero T
	res, err := f.Result()
	if err != nil {
		return zero, fmt.Errorf("%w: %T: %v", errNoAnswer, msg, err)
	}
	out, ok := res.(T)
	if !ok {
		return zero, fmt.Errorf("%w: %T answered %T", errNoAnswer, msg, res)
	}
	return out, nil
}

// code is the Kafka error code of an answer's ErrorCode.
func code(c messages.ErrorCode) int16 { return int16(c) }

// Kafka error codes used by the handlers beyond messages' own.
const (
	errUnknownServerError      int16 = -1
	errUnknownTopicOrPartition int16 = 3
	errRequestTimedOut         int16 = 7
	errCoordinatorNotAvailable int16 = 15
	errInvalidRequest          int16 = 42
	errUnsupportedVersion      int16 = 35
	errInvalidRequiredAcks     int16 = 21
	errFetchSessionIDNotFound  int16 = 70
)

// strPtr returns a pointer to s, or nil for "".
func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// splitHostPort splits a Kafka address into host and port (port 0 when it
// does not parse).
func splitHostPort(addr string) (string, int32) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return host, 0
	}
	return host, int32(port)
}
