package server

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/kafka/wire"
)

// slowFirst answers Metadata requests; the first one waits for release,
// so later pipelined requests finish before it.
type slowFirst struct {
	release chan struct{}
	started atomic.Int32 // Handle calls (the reader's side)
	ran     atomic.Int32 // answers begun (the handler goroutines' side)
}

func (h *slowFirst) Handle(ctx context.Context, req *wire.Request) func() kmsg.Response {
	n := h.started.Add(1)
	return func() kmsg.Response {
		h.ran.Add(1)
		if n == 1 {
			select {
			case <-h.release:
			case <-ctx.Done():
			}
		}
		resp := kmsg.NewPtrMetadataResponse()
		resp.SetVersion(req.Version)
		resp.ControllerID = req.CorrelationID
		return resp
	}
}

func start(t *testing.T, h Handler, cfg Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(ln, h, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan error, 1)
	go func() { done <- s.Serve() }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	return nc
}

func metadataFrame(corr int32) []byte {
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(9)
	return kmsg.NewRequestFormatter().AppendRequest(nil, req, corr)
}

func readCorr(t *testing.T, nc net.Conn) int32 {
	t.Helper()
	var l [4]byte
	if _, err := io.ReadFull(nc, l[:]); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, binary.BigEndian.Uint32(l[:]))
	if _, err := io.ReadFull(nc, b); err != nil {
		t.Fatal(err)
	}
	return int32(binary.BigEndian.Uint32(b))
}

// TestPipelinedInOrder: requests are handled concurrently, at most
// MaxInFlight at once, and answered in request order even when the first
// finishes last.
func TestPipelinedInOrder(t *testing.T) {
	h := &slowFirst{release: make(chan struct{})}
	addr := start(t, h, Config{MaxInFlight: 4})
	nc := dial(t, addr)
	const n = 20
	for i := range n {
		if _, err := nc.Write(metadataFrame(int32(i))); err != nil {
			t.Fatal(err)
		}
	}
	// The reader stops once the queue is full behind the stuck first
	// request: 4 queued slots plus the one the writer waits on. The four
	// behind it are answered while it is still stuck (concurrency).
	deadline := time.Now().Add(5 * time.Second)
	for (h.started.Load() < 5 || h.ran.Load() < 5) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := h.started.Load(); got != 5 {
		t.Fatalf("%d requests started behind a stuck one, want 5 (back-pressure)", got)
	}
	if got := h.ran.Load(); got != 5 {
		t.Fatalf("%d requests ran while the first was stuck, want 5 (concurrency)", got)
	}
	close(h.release)
	for i := range n {
		if corr := readCorr(t, nc); corr != int32(i) {
			t.Fatalf("response %d has correlation id %d", i, corr)
		}
	}
}

// TestIdleTimeoutCloses: a silent connection is closed.
func TestIdleTimeoutCloses(t *testing.T) {
	addr := start(t, &slowFirst{release: make(chan struct{})}, Config{IdleTimeout: 100 * time.Millisecond})
	nc := dial(t, addr)
	var b [1]byte
	if _, err := nc.Read(b[:]); !errors.Is(err, io.EOF) {
		t.Fatalf("read on an idle connection: %v, want EOF", err)
	}
}

// TestOverLimitCloses: a frame over MaxRequestBytes closes the connection
// before its body is read, and other connections keep working.
func TestOverLimitCloses(t *testing.T) {
	h := &slowFirst{release: make(chan struct{})}
	close(h.release)
	addr := start(t, h, Config{MaxRequestBytes: 1024})
	bad := dial(t, addr)
	_, _ = bad.Write(binary.BigEndian.AppendUint32(nil, 4096))
	var b [1]byte
	if _, err := bad.Read(b[:]); !errors.Is(err, io.EOF) {
		t.Fatalf("read after an over-limit frame: %v, want EOF", err)
	}
	good := dial(t, addr)
	if _, err := good.Write(metadataFrame(7)); err != nil {
		t.Fatal(err)
	}
	if corr := readCorr(t, good); corr != 7 {
		t.Fatalf("correlation id %d", corr)
	}
}
