package broker

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// TestBrokerStartFailsCleanlyWhenRemotePortTaken starts a node whose admin
// HTTP listener opens but whose actor remote cannot bind: Start must return
// the bind error (not panic in its cleanup) and release the HTTP port.
func TestBrokerStartFailsCleanlyWhenRemotePortTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Listen = taken.Addr().String()
	cfg.Advertise = ""
	cfg.Kafka.Listen = "127.0.0.1:0"
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP = httpLn.Addr().String()
	_ = httpLn.Close()
	s, err := Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		_ = s.Shutdown(context.Background())
		t.Fatal("Start succeeded on a taken remote port")
	}
	if s != nil {
		t.Fatalf("Start returned a server with error %v", err)
	}
	if !strings.Contains(err.Error(), taken.Addr().String()) {
		t.Fatalf("error does not name the taken address %s: %v", taken.Addr(), err)
	}
	again, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		t.Fatalf("the admin HTTP port was not released: %v", err)
	}
	_ = again.Close()
}

// TestBrokerStartWaitsForConsul: a node whose Consul agent does not answer
// waits consul.start_timeout for it, then fails naming the agent and the
// setting; a node whose agent comes up within the wait starts.
func TestBrokerStartWaitsForConsul(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	_ = closed.Close() // nobody listens: connection refused
	cfg := DefaultConfig()
	cfg.NodeID = 1
	cfg.DataDir = t.TempDir()
	cfg.Listen, cfg.Advertise, cfg.HTTP, cfg.Kafka.Listen = "127.0.0.1:0", "", "127.0.0.1:0", ""
	cfg.Consul.Address = addr
	cfg.Consul.StartTimeout = 300 * time.Millisecond
	s, err := Start(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		_ = s.Shutdown(context.Background())
		t.Fatal("Start succeeded without a Consul agent")
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "consul.start_timeout") {
		t.Fatalf("error should name the agent %s and consul.start_timeout: %v", addr, err)
	}
	// The wait ends with the context too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg.DataDir = t.TempDir()
	cfg.Consul.StartTimeout = time.Hour
	if s, err := Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		_ = s.Shutdown(context.Background())
		t.Fatal("Start succeeded with a cancelled context and no agent")
	}
}
