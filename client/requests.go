package client

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
)

// requests is the client's record of what it has on the wire, so that
// Close can end it: no message enters the remote once Close began, and
// every request still waiting for an answer ends with ErrClosed before
// Close returns.
type requests struct {
	// sendMu orders sends with Close: a send holds it shared, Close
	// takes it exclusively to set closed, so every send has left the
	// remote before Close stops it.
	sendMu sync.RWMutex
	closed bool

	mu      sync.Mutex              // guards pending
	pending map[*actor.PID]struct{} // futures not resolved yet
	waiters sync.WaitGroup          // one per pending future
}

// request sends msg to pid and calls done with the answer, in a goroutine
// the client owns, once the answer arrives, timeout passes or the client
// closes (then err is ErrClosed). It fails with ErrClosed, without
// calling done, once Close began.
func (c *Client) request(pid *actor.PID, msg proto.Message, timeout time.Duration, done func(res any, err error)) error {
	r := &c.reqs
	r.sendMu.RLock()
	defer r.sendMu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	fut := c.system.Root.RequestFuture(pid, msg, timeout)
	r.mu.Lock()
	if r.pending == nil {
		r.pending = map[*actor.PID]struct{}{}
	}
	r.pending[fut.PID()] = struct{}{}
	r.mu.Unlock()
	r.waiters.Add(1)
	go func() {
		defer r.waiters.Done()
		res, err := fut.Result()
		r.mu.Lock()
		delete(r.pending, fut.PID())
		r.mu.Unlock()
		if res == nil && err == nil {
			// Only Close resolves a future without an answer.
			err = ErrClosed
		}
		done(res, err)
	}()
	return nil
}

// send delivers msg to pid without waiting for an answer; it fails with
// ErrClosed once Close began.
func (c *Client) send(pid *actor.PID, msg proto.Message) error {
	r := &c.reqs
	r.sendMu.RLock()
	defer r.sendMu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	c.system.Root.Send(pid, msg)
	return nil
}

// stopSending makes every later request and send fail with ErrClosed; it
// returns once the sends in progress have left.
func (r *requests) stopSending() {
	r.sendMu.Lock()
	r.closed = true
	r.sendMu.Unlock()
}

// endPending resolves every future still waiting, so its waiter sees
// ErrClosed, and waits until the waiters have returned. The remote must
// already be stopped: a future must not get an answer and this end at
// once.
func (c *Client) endPending() {
	r := &c.reqs
	r.mu.Lock()
	pids := make([]*actor.PID, 0, len(r.pending))
	for pid := range r.pending {
		pids = append(pids, pid)
	}
	r.mu.Unlock()
	for _, pid := range pids {
		c.system.Root.Stop(pid)
	}
	r.waiters.Wait()
}
