package node

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/vfs"
)

// A write error in one partition's log takes the whole data dir offline:
// every replica refuses with KAFKA_STORAGE_ERROR, the node records the
// offline dir in the store and publishes it, the controller takes the
// leaderships away, and the node goes on answering metadata and admin
// requests. A restart on the repaired disk recovers and serves every
// acknowledged record.
func TestLogDirFailureTakesDirOffline(t *testing.T) {
	fsys := vfs.NewFaulty(nil)
	dirs := NewLogDirs()
	h := newHarness(t, func(h *harness) { h.logFS, h.logDirs = fsys, dirs })
	h.createTopic("a", 2, nil)
	for p := range int32(2) {
		if r := h.produce("a", p, "before"); r.ErrorCode != messages.ErrorCode_NONE {
			t.Fatalf("produce a/%d: %v %s", p, r.ErrorCode, r.ErrorMessage)
		}
	}
	fsys.Add(vfs.Rule{Op: vfs.OpWrite, Pattern: filepath.Join(h.dataDir, "a-0", "*.log"), Err: syscall.ENOSPC})
	if r := h.produce("a", 0, "lost"); r.ErrorCode != messages.ErrorCode_KAFKA_STORAGE_ERROR {
		t.Fatalf("produce on a full disk: %v %s; want KAFKA_STORAGE_ERROR", r.ErrorCode, r.ErrorMessage)
	}
	// The healthy log of the same dir is taken offline too.
	waitFor(t, func() error {
		r := h.produce("a", 1, "refused")
		if r.ErrorCode != messages.ErrorCode_KAFKA_STORAGE_ERROR || !strings.Contains(r.ErrorMessage, "log dir offline") {
			return fmt.Errorf("produce a/1: %v %s; want KAFKA_STORAGE_ERROR for the offline dir", r.ErrorCode, r.ErrorMessage)
		}
		return nil
	})
	if off := dirs.Offline(); len(off) != 1 || off[0].Dir != h.dataDir || !strings.Contains(off[0].Error, "no space left") {
		t.Fatalf("published offline dirs %+v", off)
	}
	waitFor(t, func() error {
		rec, err := metadata.OfflineLogDirs(context.Background(), h.store)
		if err != nil || len(rec[1].Offline) != 1 || rec[1].Offline[0].Dir != h.dataDir {
			return fmt.Errorf("offline record %+v, %v", rec, err)
		}
		return nil
	})
	// The controller (this node) moved the leaderships away: no ISR member
	// is left to lead.
	waitFor(t, func() error {
		md := request[*messages.MetadataResponse](h, h.pid, &messages.MetadataRequest{Topics: []string{"a"}})
		for _, p := range md.Topics[0].Partitions {
			if p.Leader != -1 {
				return fmt.Errorf("a/%d still led by %d", p.Partition, p.Leader)
			}
		}
		return nil
	})
	// Admin requests are still answered (placement has no node to use).
	resp := request[*messages.CreateTopicResponse](h, h.pid, &messages.CreateTopicRequest{Name: "b", Partitions: 1, ReplicationFactor: 1})
	if resp.ErrorCode == messages.ErrorCode_NONE {
		t.Fatal("a topic was placed on the node whose log dir is offline")
	}

	// The disk is repaired; the node restarts (its start clears the record).
	h.stop()
	fsys.Clear()
	if err := metadata.ClearLogDirs(context.Background(), h.store, 1); err != nil {
		t.Fatal(err)
	}
	h.logDirs = NewLogDirs()
	h.start()
	waitFor(t, func() error {
		for p := range int32(2) {
			if r := h.produce("a", p, "after"); r.ErrorCode != messages.ErrorCode_NONE {
				return fmt.Errorf("produce a/%d after restart: %v %s", p, r.ErrorCode, r.ErrorMessage)
			}
		}
		return nil
	})
	for p := range int32(2) {
		f := request[*messages.FetchResponse](h, h.replica("a", p), &messages.FetchRequest{Topic: "a", Partition: p, MaxBytes: 1 << 20, LeaderEpoch: -1})
		if f.ErrorCode != messages.ErrorCode_NONE || !strings.Contains(string(f.Records), "before") || strings.Contains(string(f.Records), "lost") {
			t.Fatalf("fetch a/%d after restart: %v; want the acknowledged record and not the refused one", p, f.ErrorCode)
		}
	}
	if len(h.logDirs.Offline()) != 0 {
		t.Fatal("restarted node reports an offline dir")
	}
}
