package node

import "testing"

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
