package server

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/kafka/wire"
)

// conn is one client connection: a reader, a writer and a bounded queue of
// response slots between them, in request order.
type conn struct {
	srv    *Server
	nc     net.Conn
	ctx    context.Context
	cancel context.CancelFunc
	queue  chan *slot
	once   sync.Once
}

// slot is the response to one request, filled by its handler.
type slot struct {
	correlationID int32
	done          chan struct{}
	resp          kmsg.Response
}

func newConn(s *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(s.ctx)
	return &conn{srv: s, nc: nc, ctx: ctx, cancel: cancel, queue: make(chan *slot, s.cfg.MaxInFlight)}
}

func (c *conn) close() {
	c.once.Do(func() {
		c.cancel()
		_ = c.nc.Close()
	})
}

// serve runs the reader here and the writer in a goroutine; it returns
// when both have ended.
func (c *conn) serve() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.write()
	}()
	err := c.read()
	c.close()
	wg.Wait()
	c.logClose(err)
}

func (c *conn) logClose(err error) {
	remote := c.nc.RemoteAddr().String()
	switch {
	case err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || c.srv.ctx.Err() != nil:
		c.srv.logger.Debug("kafka: connection closed", "remote", remote)
	case errors.Is(err, wire.ErrFrameTooLarge), errors.Is(err, wire.ErrFrameLength),
		errors.Is(err, wire.ErrMalformed), errors.Is(err, wire.ErrUnsupported):
		c.srv.logger.Info("kafka: connection closed: bad request", "remote", remote, "error", err)
	default:
		c.srv.logger.Debug("kafka: connection closed", "remote", remote, "error", err)
	}
}

// read decodes requests until the connection ends or a request is bad.
func (c *conn) read() error {
	for {
		if err := c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.IdleTimeout)); err != nil {
			return err
		}
		// A fresh buffer per frame: a decoded request may alias it (record
		// bytes) while its handler runs.
		frame, err := wire.ReadFrame(c.nc, nil, c.srv.cfg.MaxRequestBytes)
		if err != nil {
			return err
		}
		req, err := wire.ParseRequest(frame)
		var unsupported *wire.UnsupportedError
		if errors.As(err, &unsupported) && unsupported.Key == apiVersionsKey {
			s := &slot{correlationID: unsupported.CorrelationID, done: make(chan struct{}),
				resp: wire.ApiVersionsResponse(0, wire.UnsupportedVersion)}
			close(s.done)
			if !c.enqueue(s) {
				return nil
			}
			continue
		}
		if err != nil {
			return err
		}
		s := &slot{correlationID: req.CorrelationID, done: make(chan struct{})}
		if !c.enqueue(s) {
			return nil
		}
		answer := c.srv.handler.Handle(c.ctx, req)
		go func() {
			defer close(s.done)
			s.resp = answer()
		}()
	}
}

const apiVersionsKey = 18

// enqueue waits for room in the queue (back-pressure on the reader).
func (c *conn) enqueue(s *slot) bool {
	select {
	case c.queue <- s:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// write sends the responses in request order.
func (c *conn) write() {
	var buf []byte
	for {
		var s *slot
		select {
		case s = <-c.queue:
		case <-c.ctx.Done():
			return
		}
		select {
		case <-s.done:
		case <-c.ctx.Done():
			return
		}
		if s.resp == nil {
			continue
		}
		buf = wire.AppendFrame(buf[:0], s.correlationID, s.resp)
		if err := c.nc.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
			c.close()
			return
		}
		if _, err := c.nc.Write(buf); err != nil {
			c.close()
			return
		}
		if cap(buf) > 1<<20 {
			buf = nil // do not keep a large fetch's buffer
		}
	}
}
