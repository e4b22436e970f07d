package main

import (
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/broker"
)

func TestSluicedFlagsOverrideConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sluiced.yaml")
	if err := os.WriteFile(path, []byte("node_id: 4\nlisten: 127.0.0.1:7000\nlog_level: debug\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := parse(t, "--config", path, "--listen", "127.0.0.1:7100", "--replica-lag-time", "2s", "--kafka-zero-copy=false")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NodeID != 4 || cfg.LogLevel != "debug" {
		t.Fatalf("file values lost: node %d level %s", cfg.NodeID, cfg.LogLevel)
	}
	if cfg.Listen != "127.0.0.1:7100" {
		t.Fatalf("listen %s, want the flag's 127.0.0.1:7100", cfg.Listen)
	}
	if cfg.DataDir != "./data" || cfg.HTTP != "127.0.0.1:9651" {
		t.Fatalf("defaults lost: data %s http %s", cfg.DataDir, cfg.HTTP)
	}
	def := broker.DefaultConfig()
	if cfg.Replication.ReplicaLagTime != 2*time.Second || cfg.Replication.RetryInterval != min(def.Replication.RetryInterval, 2*time.Second) {
		t.Fatalf("replica lag %v retry %v, want 2s and at most 2s", cfg.Replication.ReplicaLagTime, cfg.Replication.RetryInterval)
	}
	if cfg.Kafka.ZeroCopy || !def.Kafka.ZeroCopy {
		t.Fatalf("kafka zero-copy %v, want the flag's false over the default true", cfg.Kafka.ZeroCopy)
	}
}

// TestSluicedFileOverridesDefaultsOnly: a setting the file gives and no
// flag names keeps the file's value, also for flags whose default the
// file changes (the flags' own defaults are not applied over the file).
func TestSluicedFileOverridesDefaultsOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sluiced.yaml")
	if err := os.WriteFile(path, []byte("http: 127.0.0.1:9700\nkafka:\n  zero_copy: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := parse(t, "--config", path, "--log-level", "warn")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP != "127.0.0.1:9700" || cfg.Kafka.ZeroCopy || cfg.LogLevel != "warn" {
		t.Fatalf("http %s zero-copy %v level %s; want the file's 127.0.0.1:9700 and false, the flag's warn", cfg.HTTP, cfg.Kafka.ZeroCopy, cfg.LogLevel)
	}
}

func TestSluicedExampleConfigIsTheDefaults(t *testing.T) {
	// Loaded over a zero Config, so a setting missing from the file shows.
	var cfg broker.Config
	if err := cfg.LoadFile("sluiced.example.yaml"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, broker.DefaultConfig()) {
		t.Fatalf("sluiced.example.yaml differs from the defaults:\n%+v\n%+v", cfg, broker.DefaultConfig())
	}
}

func TestRaiseFileLimit(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	lowered := lim
	lowered.Cur = min(lim.Max, 256)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) })
	got, err := raiseFileLimit()
	if err != nil || got != lim.Max {
		t.Fatalf("raiseFileLimit = %d, %v; want the hard limit %d", got, err, lim.Max)
	}
	var now syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); err != nil || now.Cur != lim.Max {
		t.Fatalf("soft limit after raise = %d (%v), want %d", now.Cur, err, lim.Max)
	}
}
