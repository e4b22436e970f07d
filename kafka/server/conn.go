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

	// abandoned is the slot the writer was waiting for when the
	// connection closed; written by the writer before it returns.
	abandoned *slot
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
	c.drain()
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

// write sends the responses in request order. A *wire.FileFetch goes out
// as its framing around its files, which Copy sends with sendfile; a
// response the writer does not send (the connection closed first) is
// released by drain.
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
			c.abandoned = s
			return
		}
		if s.resp == nil {
			continue
		}
		var err error
		buf, err = c.send(buf[:0], s)
		if err != nil {
			c.srv.logger.Debug("kafka: write response", "remote", c.nc.RemoteAddr().String(), "error", err)
			c.close()
			return
		}
		if cap(buf) > 1<<20 {
			buf = nil // do not keep a large fetch's buffer
		}
	}
}

// send writes one response, encoded into buf, and releases its files.
func (c *conn) send(buf []byte, s *slot) ([]byte, error) {
	if err := c.nc.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		release(s.resp)
		return buf, err
	}
	ff, ok := s.resp.(*wire.FileFetch)
	if !ok {
		buf = wire.AppendFrame(buf, s.correlationID, s.resp)
		_, err := c.nc.Write(buf)
		return buf, err
	}
	defer release(ff)
	frame, buf, err := wire.AppendFileFrame(buf, s.correlationID, ff)
	if err != nil {
		return buf, err
	}
	n, err := frame.WriteTo(c.nc)
	c.srv.cfg.Stats.FileFrames.Add(1)
	c.srv.cfg.Stats.FileFrameBytes.Add(n)
	return buf, err
}

// release frees what a response holds (the files of a *wire.FileFetch).
func release(resp kmsg.Response) {
	if c, ok := resp.(io.Closer); ok {
		_ = c.Close()
	}
}

// drain releases, as their handlers finish, the responses the writer did
// not send: the one it waited for when the connection closed and those
// still queued. The reader has returned, so nothing is queued any more;
// the goroutine ends with the last handler.
func (c *conn) drain() {
	var left []*slot
	if c.abandoned != nil {
		left = append(left, c.abandoned)
	}
	for {
		select {
		case s := <-c.queue:
			left = append(left, s)
			continue
		default:
		}
		break
	}
	if len(left) == 0 {
		return
	}
	go func() {
		for _, s := range left {
			<-s.done
			release(s.resp)
		}
	}()
}
