package node

import (
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/cluster/metadata"
)

// TestReadinessSurvivesControllerLoss: a starting node is not ready until
// it knows the controller; once ready, losing the controller (a metadata
// store outage) leaves it ready, since its replicas keep serving.
func TestReadinessSurvivesControllerLoss(t *testing.T) {
	r := NewReadiness()
	if r.Ready() == nil {
		t.Fatal("a new Readiness is ready")
	}
	r.started.Store(true)
	r.note()
	if r.Ready() == nil {
		t.Fatal("ready with no controller known while starting")
	}
	r.controllerKnown.Store(true)
	r.note()
	if err := r.Ready(); err != nil {
		t.Fatalf("not ready after start: %v", err)
	}
	r.controllerKnown.Store(false)
	r.note()
	if err := r.Ready(); err != nil {
		t.Fatalf("not ready after the controller was lost: %v", err)
	}
	r.pendingReplicas.Store(3)
	if r.Ready() == nil {
		t.Fatal("ready while replicas are still to be spawned")
	}
}

// TestReadinessWaitsForOpeningReplicas: spawned replicas that have not
// opened their logs keep the node not ready.
func TestReadinessWaitsForOpeningReplicas(t *testing.T) {
	r := NewReadiness()
	r.started.Store(true)
	r.controllerKnown.Store(true)
	r.openingReplicas.Store(2)
	if err := r.Ready(); err == nil || !strings.Contains(err.Error(), "2 opening their logs") {
		t.Fatalf("Ready() = %v, want not ready with 2 replicas opening", err)
	}
	r.openingReplicas.Add(-2)
	if err := r.Ready(); err != nil {
		t.Fatalf("not ready once every replica opened: %v", err)
	}
}

// TestSnapshotSlotKeepsNewest: while the guardian has not taken a
// snapshot, newer ones replace it and only the first put asks to notify.
func TestSnapshotSlotKeepsNewest(t *testing.T) {
	var s snapshotSlot
	if _, ok := s.take(); ok {
		t.Fatal("empty slot gave a snapshot")
	}
	if !s.put(metadata.Snapshot{Index: 1}) {
		t.Fatal("first put did not ask to notify")
	}
	if s.put(metadata.Snapshot{Index: 2}) {
		t.Fatal("second put asked to notify again")
	}
	if snap, ok := s.take(); !ok || snap.Index != 2 {
		t.Fatalf("take = %d %v, want the newest (2)", snap.Index, ok)
	}
	if _, ok := s.take(); ok {
		t.Fatal("a snapshot taken twice")
	}
	if !s.put(metadata.Snapshot{Index: 3}) {
		t.Fatal("put after take did not ask to notify")
	}
}
