package metadata

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluice-mq/sluice/cluster/local"
)

func TestDeleteTopicRecordsTheDeleteAndBoundsTheRecords(t *testing.T) {
	ctx := context.Background()
	st := local.OpenMemory()
	defer st.Close()
	var first string
	for i := range MaxDeletedTopics + 5 {
		name := fmt.Sprintf("t%d", i)
		if err := CreateTopic(ctx, st, Topic{Name: name, Replicas: [][]int32{{1}}}, nil); err != nil {
			t.Fatal(err)
		}
		topic, err := GetTopic(ctx, st, name)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = topic.ID
		}
		if err := DeleteTopic(ctx, st, name); err != nil {
			t.Fatal(err)
		}
		kv, err := st.Get(ctx, DeletedTopicKey(topic.ID))
		if err != nil {
			t.Fatalf("delete of %s not recorded: %v", name, err)
		}
		if d, err := decodeDeletedTopic(kv); err != nil || d.Name != name || d.DeletedAtMs == 0 {
			t.Fatalf("delete record of %s: %+v %v", name, d, err)
		}
	}
	snap, err := Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.DeletedTopics) != MaxDeletedTopics || len(snap.Topics) != 0 {
		t.Fatalf("%d delete records and %d topics kept, want %d and 0", len(snap.DeletedTopics), len(snap.Topics), MaxDeletedTopics)
	}
	if _, ok := snap.DeletedTopics[first]; ok {
		t.Fatal("the oldest delete record survived pruning")
	}
}
