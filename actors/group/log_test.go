package group

import (
	"errors"
	"testing"

	core "github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

func TestCoordinatorReplayKeepsOneGroupAndSkipsControlBatches(t *testing.T) {
	mine := core.Partition{Topic: "orders", Partition: 0}
	first, err := encodeRecords(1, batch.DefaultEncodeOptions(), []logRecord{
		offsetRecord("app", mine, &core.OffsetValue{Offset: 5, LeaderEpoch: -1}),
		offsetRecord("other", mine, &core.OffsetValue{Offset: 9, LeaderEpoch: -1}),
		groupRecord("app", &core.Metadata{ProtocolType: "consumer", Generation: 3, StateTimestamp: -1}),
		{key: []byte("not a key")},
	})
	if err != nil {
		t.Fatal(err)
	}
	control, err := batch.EncodeControl(batch.ControlCommit, 7, 0, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	second, err := encodeRecords(2, batch.DefaultEncodeOptions(), []logRecord{offsetRecord("app", mine, &core.OffsetValue{Offset: 6, LeaderEpoch: -1})})
	if err != nil {
		t.Fatal(err)
	}
	// Offsets as the log assigns them: 0-3, 4 (control), 5.
	batch.SetBaseOffset(control, 4)
	batch.SetBaseOffset(second, 5)
	buf := append(append(append([]byte(nil), first...), control...), second...)

	replay := core.NewReplay()
	next, err := replayRecords(buf, 0, "app", replay, nil)
	if err != nil || next != 6 {
		t.Fatalf("replay: next %d, %v; want 6", next, err)
	}
	if v := replay.Offsets["app"][mine]; v.Offset != 6 {
		t.Fatalf("offset %d, want the later commit, 6", v.Offset)
	}
	if _, ok := replay.Offsets["other"]; ok {
		t.Fatal("another group's record was replayed")
	}
	if md := replay.Groups["app"]; md == nil || md.Generation != 3 {
		t.Fatalf("group metadata %+v", md)
	}

	// Every group at once, and a batch cut short at the end of the buffer.
	replay = core.NewReplay()
	next, err = replayRecords(buf[:len(buf)-3], 0, "", replay, nil)
	if err != nil || next != 5 {
		t.Fatalf("replay of a cut buffer: next %d, %v; want 5", next, err)
	}
	if len(replay.Offsets) != 2 || replay.Offsets["app"][mine].Offset != 5 {
		t.Fatalf("all groups: %+v", replay.Offsets)
	}

	// A corrupt batch is an error.
	bad := append([]byte(nil), first...)
	bad[len(bad)-1] ^= 0xff
	if _, err := replayRecords(bad, 0, "app", core.NewReplay(), nil); !errors.Is(err, batch.ErrCorruptBatch) {
		t.Fatalf("corrupt batch: %v", err)
	}
}

func TestCoordinatorWriteErrorMapsAppendFailures(t *testing.T) {
	for code, want := range map[messages.ErrorCode]messages.ErrorCode{
		messages.ErrorCode_NONE:                       messages.ErrorCode_NONE,
		messages.ErrorCode_NOT_LEADER_OR_FOLLOWER:     messages.ErrorCode_NOT_COORDINATOR,
		messages.ErrorCode_FENCED_LEADER_EPOCH:        messages.ErrorCode_NOT_COORDINATOR,
		messages.ErrorCode_KAFKA_STORAGE_ERROR:        messages.ErrorCode_NOT_COORDINATOR,
		messages.ErrorCode_NOT_ENOUGH_REPLICAS:        messages.ErrorCode_COORDINATOR_NOT_AVAILABLE,
		messages.ErrorCode_REQUEST_TIMED_OUT:          messages.ErrorCode_COORDINATOR_NOT_AVAILABLE,
		messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION: messages.ErrorCode_COORDINATOR_NOT_AVAILABLE,
		messages.ErrorCode_MESSAGE_TOO_LARGE:          messages.ErrorCode_UNKNOWN_SERVER_ERROR,
	} {
		if got := messages.CodeFor(writeError(code, "detail")); got != want {
			t.Errorf("%s: %s, want %s", code, got, want)
		}
	}
}
