package consultest_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/sluice-mq/sluice/cluster/consul/consultest"
)

func TestAgentRestartStopKill(t *testing.T) {
	agent := consultest.Start(t)
	addr := agent.Addr()
	kv := agent.Client().KV()
	if _, err := kv.Put(&api.KVPair{Key: "k", Value: []byte("v")}, nil); err != nil {
		t.Fatalf("Put: %v", err)
	}

	// Same address, empty state.
	agent.Restart()
	if agent.Addr() != addr {
		t.Fatalf("address after restart %s, want %s", agent.Addr(), addr)
	}
	pair, _, err := agent.Client().KV().Get("k", nil)
	if err != nil || pair != nil {
		t.Fatalf("Get after restart = %v, %v; want a missing key", pair, err)
	}

	// Down until the next Restart.
	agent.Stop()
	if _, _, err := agent.Client().KV().Get("k", nil); err == nil {
		t.Fatal("Get with the agent stopped succeeded")
	}
	agent.Stop() // stopping twice is fine
	agent.Restart()
	agent.Kill()
	if _, _, err := agent.Client().KV().Get("k", nil); err == nil {
		t.Fatal("Get with the agent killed succeeded")
	}
	agent.Restart()
	if _, _, err := agent.Client().KV().Get("k", nil); err != nil {
		t.Fatalf("Get after restarting a killed agent: %v", err)
	}
	if _, err := os.Stat(agent.LogPath()); err != nil {
		t.Fatalf("agent log: %v", err)
	}
}

func TestAgentBinaryFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "consul")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(consultest.EnvBinary, fake)
	if got, err := consultest.Binary(); err != nil || got != fake {
		t.Fatalf("Binary = %q, %v; want %q", got, err, fake)
	}
	t.Setenv(consultest.EnvBinary, filepath.Join(dir, "missing"))
	if _, err := consultest.Binary(); !errors.Is(err, consultest.ErrNoBinary) {
		t.Fatalf("Binary with a missing file = %v, want ErrNoBinary", err)
	}
}
