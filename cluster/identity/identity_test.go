package identity

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/cluster/metadata"
)

func TestIdentityWriteRead(t *testing.T) {
	dir := t.TempDir()
	if _, err := Read(dir); !errors.Is(err, ErrNotExist) {
		t.Fatalf("fresh dir: %v, want ErrNotExist", err)
	}
	want := Identity{ClusterID: "c0ffee", NodeID: 3}
	if err := Write(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil || got != want {
		t.Fatalf("read %v %v, want %v", got, err, want)
	}
	// Replacing keeps exactly one file and no temporary.
	want.ClusterID = "beef"
	if err := Write(dir, want); err != nil {
		t.Fatal(err)
	}
	if got, err := Read(dir); err != nil || got != want {
		t.Fatalf("after overwrite %v %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != FileName {
		t.Fatalf("dir holds %v", entries)
	}
}

func TestIdentityCorruptFileIsAClearError(t *testing.T) {
	cases := map[string]string{
		"empty":         "",
		"no equals":     "version=1\ncluster.id=a\nnode.id\n",
		"missing node":  "version=1\ncluster.id=a\n",
		"bad node id":   "version=1\ncluster.id=a\nnode.id=x\n",
		"empty cluster": "version=1\ncluster.id=\nnode.id=1\n",
		"version":       "version=2\ncluster.id=a\nnode.id=1\n",
		"duplicate":     "version=1\ncluster.id=a\ncluster.id=b\nnode.id=1\n",
		"torn":          string(Encode(Identity{ClusterID: "abc", NodeID: 1}))[:30],
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(Path(dir), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Read(dir)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), Path(dir)) {
				t.Fatalf("read: %v, want ErrCorrupt naming the file", err)
			}
		})
	}
}

// A crash during Write leaves a temporary file: it is never read, and Read
// removes it, whether or not the previous identity exists.
func TestIdentityCrashLeavesTempFile(t *testing.T) {
	for _, withOld := range []bool{false, true} {
		dir := t.TempDir()
		old := Identity{ClusterID: "old", NodeID: 1}
		if withOld {
			if err := Write(dir, old); err != nil {
				t.Fatal(err)
			}
		}
		tmp := filepath.Join(dir, FileName+".123456.tmp")
		if err := os.WriteFile(tmp, []byte("version=1\ncluster.id=ne"), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Read(dir)
		switch {
		case withOld && (err != nil || got != old):
			t.Fatalf("with old identity: %v %v", got, err)
		case !withOld && !errors.Is(err, ErrNotExist):
			t.Fatalf("without identity: %v %v, want ErrNotExist", got, err)
		}
		if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("temporary file left: %v", err)
		}
	}
}

func TestIdentityCheck(t *testing.T) {
	disk := &Identity{ClusterID: "aaa", NodeID: 2}
	tests := []struct {
		name    string
		disk    *Identity
		store   string
		node    int32
		action  Action
		refused []string // substrings of the refusal
	}{
		{"fresh dir, empty store creates", nil, "", 2, Create, nil},
		{"fresh dir joins", nil, "aaa", 2, Join, nil},
		{"same cluster", disk, "aaa", 2, Proceed, nil},
		{"empty store refused", disk, "", 2, Proceed, []string{"aaa", "no cluster id", "--recover-metadata"}},
		{"other cluster refused", disk, "bbb", 2, Proceed, []string{"aaa", "bbb"}},
		{"node id mismatch refused", disk, "aaa", 5, Proceed, []string{"node id 2", "node id 5", "--node-id 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			action, err := Check("/data", tt.disk, tt.store, tt.node)
			if tt.refused == nil {
				if err != nil || action != tt.action {
					t.Fatalf("got %v %v, want %v", action, err, tt.action)
				}
				return
			}
			var mm *MismatchError
			if !errors.Is(err, ErrMismatch) || !errors.As(err, &mm) {
				t.Fatalf("got %v, want a MismatchError", err)
			}
			for _, s := range tt.refused {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("refusal %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestLockIsExclusive(t *testing.T) {
	dir := t.TempDir()
	l, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks are per open file description: a second open in the same
	// process conflicts like another process would.
	if _, err := Lock(dir); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), filepath.Join(dir, LockFileName)) {
		t.Fatalf("second lock: %v, want ErrLocked naming the lock file", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := Lock(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	_ = l2.Unlock()
}

func TestPartitionMetadataWriteReadAndCrash(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "orders-0")
	if _, err := ReadPartition(dir); err == nil {
		t.Fatal("read of a missing dir succeeded")
	}
	topic := metadata.Topic{Name: "orders", ID: "abc", Replicas: [][]int32{{1, 2}}, Configs: map[string]string{"retention.ms": "5"}}
	if err := WritePartition(dir, topic); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, PartitionFileName+".99.tmp")
	if err := os.WriteFile(tmp, []byte(`{"vers`), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPartition(dir)
	if err != nil || got.ID != "abc" || got.Configs["retention.ms"] != "5" || got.Partitions() != 1 {
		t.Fatalf("read %+v %v", got, err)
	}
	// The next write clears the leftover of an interrupted one.
	if err := WritePartition(dir, topic); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, PartitionFileName), []byte(`{"version":1,"topic":{"name":"orders"`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadPartition(dir); !errors.Is(err, ErrCorruptPartition) {
		t.Fatalf("torn file: %v, want ErrCorruptPartition", err)
	}
}

func TestPartitionMetadataReadID(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "orders-0")
	replicas := make([][]int32, 10000)
	for i := range replicas {
		replicas[i] = []int32{1, 2, 3}
	}
	if err := WritePartition(dir, metadata.Topic{Name: "orders", ID: "abc", Replicas: replicas}); err != nil {
		t.Fatal(err)
	}
	name, id, err := ReadPartitionID(dir)
	if err != nil || name != "orders" || id != "abc" {
		t.Fatalf("ReadPartitionID = %q %q %v", name, id, err)
	}
	if err := os.WriteFile(filepath.Join(dir, PartitionFileName), []byte(`{"version":2,"topic":{"name":"orders","id":"abc"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadPartitionID(dir); !errors.Is(err, ErrCorruptPartition) {
		t.Fatalf("unknown version: %v, want ErrCorruptPartition", err)
	}
	if _, _, err := ReadPartitionID(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}
