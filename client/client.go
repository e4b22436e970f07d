package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/transport"
)

// Client is a connection to a Sluice cluster: an actor system with its own
// remote listener (brokers answer requests to it) and a metadata cache.
// It is safe for concurrent use. Producers and Consumers are built on a
// Client and must be closed before it.
type Client struct {
	cfg    Config
	log    *slog.Logger
	system *actor.ActorSystem
	remote *remote.Remote
	// txnCoords caches transaction coordinators (txn.go).
	txnCoords txnCoordinators

	// ctx ends when the client is closed; background work derives from it.
	ctx    context.Context
	cancel context.CancelFunc

	meta atomic.Pointer[snapshot] // never nil after New

	refreshMu sync.Mutex // guards the following
	// refreshing is the metadata fetch in progress, shared by every caller
	// that asks for a refresh meanwhile.
	refreshing *refreshCall
	// lastGood is the broker address that answered the last metadata
	// request; it is asked first next time.
	lastGood string

	reqs      requests // what is on the wire
	closeOnce sync.Once
	closed    chan struct{} // closed when Close has shut everything down
}

// New starts a client: its actor system and remote, then fetches metadata
// from the first seed that answers. It fails when no seed answers before
// ctx ends or every seed was tried.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.ListenHost == "" && cfg.Validate() == nil {
		cfg.ListenHost = routeHost(ctx, cfg.Seeds)
	}
	c, err := start(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.bootstrap(ctx); err != nil {
		_ = c.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return c, nil
}

// start validates cfg and starts the actor system and remote.
func start(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.applyDefaults()
	c := &Client{cfg: cfg, log: cfg.Logger, closed: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.meta.Store(&snapshot{})
	actorLog := slog.New(actorLogHandler{cfg.Logger.Handler()}).With(slog.String("component", "actor"))
	c.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return actorLog }))
	if err := c.startRemote(); err != nil {
		c.system.Shutdown()
		c.cancel()
		return nil, err
	}
	return c, nil
}

// bootstrap fetches the first metadata.
func (c *Client) bootstrap(ctx context.Context) error {
	if _, err := c.refreshMetadata(ctx); err != nil {
		un := unreachableSeeds(c.cfg.Seeds)
		switch {
		case len(un) == len(c.cfg.Seeds) && !errors.Is(err, messages.ErrNetworkException):
			// The wait ended before the dead letters came back: say that
			// no seed could be reached rather than that time ran out.
			err = fmt.Errorf("%w: %w", messages.ErrorForCode(messages.ErrorCode_NETWORK_EXCEPTION, "no broker answered"), errors.Join(un...))
		case len(un) < len(c.cfg.Seeds) && errors.Is(err, messages.ErrRequestTimedOut):
			// A seed took the connection but no answer came: most often
			// the broker cannot connect back to the client's address.
			err = &NoAnswerError{ClientAddr: c.Address(), Err: err}
		}
		return fmt.Errorf("client: bootstrap metadata from %v: %w", c.cfg.Seeds, err)
	}
	return nil
}

// unreachableSeeds dials every seed at once and returns an
// *UnreachableError for each that refused or did not answer within a
// second.
func unreachableSeeds(seeds []string) []error {
	errs := make([]error, len(seeds))
	var wg sync.WaitGroup
	for i, s := range seeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp", s, time.Second)
			if err != nil {
				errs[i] = &UnreachableError{Addr: s, Err: err}
				return
			}
			_ = conn.Close()
		}()
	}
	wg.Wait()
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// startRemote configures the remote per the transport's limits: a writer
// batch that fits the broker's gRPC message cap, keepalives so a hung
// broker is noticed, and a single connect attempt so requests to a dead
// node fail in seconds rather than queueing.
func (c *Client) startRemote() (err error) {
	batch := max(1, remoteBatchBudget/c.cfg.MaxRequestBytes)
	opts := []remote.ConfigOption{
		remote.WithEndpointWriterBatchSize(batch),
		remote.WithServerOptions(
			grpc.MaxRecvMsgSize(maxRecvMsgBytes),
			grpc.InitialWindowSize(flowControlWindow),
			grpc.InitialConnWindowSize(flowControlWindow),
			grpc.WriteBufferSize(transportBufferSize),
			grpc.ReadBufferSize(transportBufferSize),
			experimental.BufferPool(transport.Shared),
			grpc.ForceServerCodecV2(transport.Codec{Pool: transport.Shared}),
			grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 500 * time.Millisecond, PermitWithoutStream: true}),
			grpc.KeepaliveParams(keepalive.ServerParameters{Time: 5 * time.Second, Timeout: 5 * time.Second}),
			// Close relies on Stop returning after the handlers.
			grpc.WaitForHandlers(true),
		),
		// WithDialOptions replaces the defaults, so the insecure
		// credentials must be given again.
		remote.WithDialOptions(
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithInitialWindowSize(flowControlWindow),
			grpc.WithInitialConnWindowSize(flowControlWindow),
			grpc.WithWriteBufferSize(transportBufferSize),
			grpc.WithReadBufferSize(transportBufferSize),
			experimental.WithBufferPool(transport.Shared),
			grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecvMsgBytes), grpc.ForceCodecV2(transport.Codec{Pool: transport.Shared})),
		),
	}
	if c.cfg.AdvertiseAddr != "" {
		opts = append(opts, remote.WithAdvertisedHost(c.cfg.AdvertiseAddr))
	}
	rcfg := remote.Configure(c.cfg.ListenHost, c.cfg.ListenPort, opts...)
	rcfg.MaxRetryCount = 1 // protoactor sleeps 2 s after each failed connect attempt
	c.remote = remote.NewRemote(c.system, rcfg)
	defer func() {
		// Remote.Start panics when it cannot listen.
		if r := recover(); r != nil {
			err = fmt.Errorf("client: start remote on %s:%d: %v", c.cfg.ListenHost, c.cfg.ListenPort, r)
		}
	}()
	c.remote.Start()
	return nil
}

// Address is the client's own remote address as brokers see it.
func (c *Client) Address() string { return c.system.Address() }

// Close stops the client's remote and actor system. Requests in flight
// fail with ErrClosed, and so does every later one. It waits for the
// shutdown until ctx ends (then it returns ctx's error and the shutdown
// finishes in the background); once it returned nil, the client's
// goroutines are done. Close may be called concurrently with requests
// and more than once; every call waits for the same shutdown.
func (c *Client) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		c.cancel()
		go func() {
			defer close(c.closed)
			c.reqs.stopSending()
			if c.remote != nil {
				// The gRPC server first, waiting for its handlers: no
				// answer arrives from now on, so the pending futures can
				// be ended and protoactor's endpoint reader is not
				// running when its endpoints stop.
				c.remote.Shutdown(false)
			}
			c.endPending()
			if c.remote != nil {
				c.stopEndpoints()
			}
			c.system.Shutdown()
		}()
	})
	select {
	case <-c.closed:
		return nil
	case <-ctx.Done():
		return ctxError(ctx, "closing the client")
	}
}

// stopEndpoints stops the actors of protoactor's endpoint manager (its
// activator, and the supervisor of the connections to brokers, which
// closes them). Remote.Shutdown(true) would do the same and more, but
// reads and writes state the endpoint readers use without a lock, and can
// send on a closed reader's channel.
func (c *Client) stopEndpoints() {
	for _, id := range []string{"activator", "EndpointSupervisor"} {
		pid := actor.NewPID(c.system.Address(), id)
		if err := c.system.Root.StopFuture(pid).Wait(); err != nil {
			c.log.Debug("stop remote endpoint actor", slog.String("actor", id), slog.Any("error", err))
		}
	}
}

// response is what every Sluice response message has.
type response interface {
	proto.Message
	GetErrorCode() messages.ErrorCode
	GetErrorMessage() string
}

// call sends req to pid and waits for a response of type T, for at most
// timeout and until ctx ends. A response carrying an error code is
// returned together with that code's *messages.Error. A dead letter (no
// such actor, node unreachable) is errNoActor.
func call[T response](ctx context.Context, c *Client, pid *actor.PID, req proto.Message, timeout time.Duration) (T, error) {
	var zero T
	if err := c.ctx.Err(); err != nil {
		return zero, ErrClosed
	}
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return zero, ctxError(ctx, "no time left for the request")
	}
	res, err := c.await(ctx, pid, req, timeout)
	if errors.Is(err, actor.ErrTimeout) && ctx.Err() != nil {
		return zero, ctxError(ctx, fmt.Sprintf("%s to %s", proto.MessageName(req).Name(), pid.Address))
	}
	typed, err := decodeResult[T](res, err, pid, req, timeout)
	if errors.Is(err, errNoActor) {
		wait := timeout
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl))
		}
		err = probeDeadLetter(err, pid.Address, wait)
	}
	return typed, err
}

// decodeResult turns a future's outcome into a typed response and error:
// a timeout is REQUEST_TIMED_OUT, a dead letter errNoActor, and a response
// with an error code that code's *messages.Error.
func decodeResult[T response](res any, err error, pid *actor.PID, req proto.Message, timeout time.Duration) (T, error) {
	var zero T
	switch {
	case errors.Is(err, actor.ErrTimeout):
		return zero, timedOut(fmt.Sprintf("no answer to %s from %s within %v", proto.MessageName(req).Name(), pid.Address, timeout), nil)
	case errors.Is(err, actor.ErrDeadLetter):
		return zero, fmt.Errorf("%w: %s at %s", errNoActor, pid.Id, pid.Address)
	case err != nil:
		return zero, err
	}
	typed, ok := res.(T)
	if !ok {
		return zero, messages.ErrorForCode(messages.ErrorCode_UNKNOWN_SERVER_ERROR,
			fmt.Sprintf("unexpected answer %T to %s from %s", res, proto.MessageName(req).Name(), pid.Address))
	}
	return typed, messages.ErrorForCode(typed.GetErrorCode(), typed.GetErrorMessage())
}

// await sends req to pid and waits for the answer unless ctx ends first;
// then it returns actor.ErrTimeout, and the request's waiter ends with the
// answer, the request's timeout or Close.
func (c *Client) await(ctx context.Context, pid *actor.PID, req proto.Message, timeout time.Duration) (any, error) {
	type result struct {
		v   any
		err error
	}
	done := make(chan result, 1)
	if err := c.request(pid, req, timeout, func(v any, err error) { done <- result{v, err} }); err != nil {
		return nil, err
	}
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return nil, actor.ErrTimeout
	}
}

// retry runs op until it succeeds, fails with a non-retriable error, the
// retry budget is spent or ctx ends. It refreshes metadata before a retry
// when the error says the client's view is stale.
func (c *Client) retry(ctx context.Context, op func(attempt int) error) error {
	for attempt := 0; ; attempt++ {
		err := op(attempt)
		if err == nil || !retriable(err) || attempt >= c.cfg.MaxRetries {
			return err
		}
		if e := c.sleep(ctx, c.cfg.backoff(attempt+1)); e != nil {
			return fmt.Errorf("%w (retrying after: %w)", e, err)
		}
		if staleMetadata(err) {
			if _, rerr := c.refreshMetadata(ctx); rerr != nil {
				c.log.Debug("metadata refresh before retry failed", slog.Any("error", rerr))
			}
		}
	}
}

// sleep pauses for d unless ctx ends or the client closes.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctxError(ctx, "waiting to retry")
	case <-c.ctx.Done():
		return ErrClosed
	}
}
