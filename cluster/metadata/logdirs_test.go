package metadata

import (
	"context"
	"errors"
	"testing"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/local"
)

// A node's offline record is listed and in snapshots until cleared; a
// malformed record counts as offline; an empty one does not.
func TestLogDirsRecord(t *testing.T) {
	ctx := context.Background()
	st := local.OpenMemory()
	rec := NodeLogDirs{NodeID: 2, Offline: []OfflineDir{{Dir: "/data", Error: "no space left on device", SinceMs: 5}}}
	if err := PutLogDirs(ctx, st, rec); err != nil {
		t.Fatal(err)
	}
	if err := PutLogDirs(ctx, st, rec); err != nil { // replaces
		t.Fatal(err)
	}
	if err := PutLogDirs(ctx, st, NodeLogDirs{NodeID: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CAS(ctx, LogDirsKey(4), []byte("{not json"), 0); err != nil {
		t.Fatal(err)
	}
	got, err := OfflineLogDirs(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[2].Offline[0].Dir != "/data" || len(got[4].Offline) != 1 {
		t.Fatalf("OfflineLogDirs = %+v; want nodes 2 and 4", got)
	}
	snap, err := Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.OfflineLogDirs) != 2 || snap.OfflineLogDirs[2].Offline[0].Error != "no space left on device" {
		t.Fatalf("snapshot offline dirs %+v", snap.OfflineLogDirs)
	}
	if err := ClearLogDirs(ctx, st, 2); err != nil {
		t.Fatal(err)
	}
	if err := ClearLogDirs(ctx, st, 2); err != nil { // already gone
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, LogDirsKey(2)); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("record still there: %v", err)
	}
	got, _ = OfflineLogDirs(ctx, st)
	if _, ok := got[2]; ok || len(got) != 1 {
		t.Fatalf("after clear: %+v", got)
	}
}
