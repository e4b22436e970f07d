package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/broker"
)

// parse runs the command's flag parsing and config layering on args.
func parse(t *testing.T, args ...string) (broker.Config, error) {
	t.Helper()
	d := newDaemon()
	if err := d.cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	return d.loadConfig()
}

func TestSluicedClusterModeNeedsExplicitNodeID(t *testing.T) {
	_, err := parse(t, "--consul", "127.0.0.1:8500")
	if !errors.Is(err, broker.ErrInvalidConfig) {
		t.Fatalf("--consul without --node-id: %v, want ErrInvalidConfig", err)
	}
	cfg, err := parse(t, "--consul", "127.0.0.1:8500", "--node-id", "1", "--consul-check-ttl", "1500ms")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Clustered() || cfg.NodeID != 1 || cfg.Consul.Address != "127.0.0.1:8500" || cfg.Consul.CheckTTL != 1500*time.Millisecond {
		t.Fatalf("cluster config %+v", cfg.Consul)
	}
	// node_id in the config file counts as explicit, even when it is 1.
	path := filepath.Join(t.TempDir(), "sluiced.yaml")
	if err := os.WriteFile(path, []byte("node_id: 1\nconsul:\n  address: 127.0.0.1:8500\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, err := parse(t, "--config", path); err != nil || !cfg.Clustered() {
		t.Fatalf("config file with node_id and consul: %v (clustered %v)", err, cfg.Clustered())
	}
	// Single-node mode keeps the default id.
	if cfg, err := parse(t); err != nil || cfg.Clustered() || cfg.NodeID != broker.DefaultNodeID {
		t.Fatalf("single node: %v %+v", err, cfg)
	}
}

func TestSluicedRejectsBadConsulSettings(t *testing.T) {
	for _, args := range [][]string{
		{"--node-id", "1", "--consul", "no-port"},
		{"--node-id", "1", "--consul", "127.0.0.1:8500", "--consul-check-ttl", "100ms"},
	} {
		if _, err := parse(t, args...); !errors.Is(err, broker.ErrInvalidConfig) {
			t.Errorf("%v: %v, want ErrInvalidConfig", args, err)
		}
	}
}

func TestSluicedClusterModeNeedsAReachableAddress(t *testing.T) {
	if _, err := parse(t, "--node-id", "1", "--consul", "127.0.0.1:8500", "--listen", "0.0.0.0:9650"); !errors.Is(err, broker.ErrInvalidConfig) {
		t.Fatalf("listen on every interface without advertise: %v, want ErrInvalidConfig", err)
	}
	if _, err := parse(t, "--node-id", "1", "--consul", "127.0.0.1:8500", "--listen", "0.0.0.0:9650", "--advertise", "10.0.0.1:9650"); err != nil {
		t.Fatalf("with advertise: %v", err)
	}
}
