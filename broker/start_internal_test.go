package broker

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
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
