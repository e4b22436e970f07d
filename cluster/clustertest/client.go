package clustertest

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/sluice-mq/sluice/broker"
)

// RequestTimeout bounds Client.Request.
const RequestTimeout = 10 * time.Second

// Client is the test process's actor system with a remote, for talking to
// nodes. There is one per test binary: a second remote in the process
// would race inside grpc under -race.
type Client struct {
	System *actor.ActorSystem
}

var client struct {
	once sync.Once
	c    *Client
	err  error
}

// NewClient returns the test binary's client, starting it on first use on
// a free loopback port with the broker's remote options.
func NewClient(t testing.TB) *Client {
	t.Helper()
	client.once.Do(func() {
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
		cfg := remote.Configure("127.0.0.1", 0, broker.RemoteOptions(broker.DefaultConfig().Remote)...)
		cfg.MaxRetryCount = 1
		r := remote.NewRemote(system, cfg)
		defer func() {
			if p := recover(); p != nil {
				client.err = fmt.Errorf("clustertest: start client remote: %v", p)
			}
		}()
		r.Start()
		client.c = &Client{System: system}
	})
	if client.err != nil {
		t.Fatal(client.err)
	}
	return client.c
}

// Request sends msg to pid and waits up to RequestTimeout for the answer.
// A request to an actor that does not exist fails fast with
// actor.ErrDeadLetter.
func (c *Client) Request(pid *actor.PID, msg any) (any, error) {
	return c.System.Root.RequestFuture(pid, msg, RequestTimeout).Result()
}

// Send delivers msg to pid without a sender (no response).
func (c *Client) Send(pid *actor.PID, msg any) { c.System.Root.Send(pid, msg) }

// Request is Client.Request with the response type checked.
func Request[T any](t testing.TB, c *Client, pid *actor.PID, msg any) T {
	t.Helper()
	res, err := c.Request(pid, msg)
	if err != nil {
		t.Fatalf("request %T to %s: %v", msg, pid, err)
	}
	out, ok := res.(T)
	if !ok {
		t.Fatalf("request %T to %s: got %T", msg, pid, res)
	}
	return out
}
