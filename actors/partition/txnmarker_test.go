package partition

import (
	"testing"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

func (g *replicaGroup) writeMarker(id int32, producerID int64, epoch int32, committed bool) *messages.WriteTxnMarkerResponse {
	g.t.Helper()
	return groupRequest[*messages.WriteTxnMarkerResponse](g, id, &messages.WriteTxnMarkerRequest{
		Topic: g.base.Topic, ProducerId: producerID, ProducerEpoch: epoch, CoordinatorEpoch: 3,
		Committed: committed, LeaderEpoch: -1,
	})
}

// A marker is answered once every in-sync replica has it, and is stored
// as a control batch every replica holds alike.
func TestWriteTxnMarkerReplicatedBeforeAnswer(t *testing.T) {
	g := newReplicaGroup(t, []int32{1, 2}, nil, nil)
	g.startAll(State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	wantCode(t, g.produce(1, encode(t, 0, "a"), -1, 0).ErrorCode, messages.ErrorCode_NONE, "")

	resp := g.writeMarker(1, 7, 2, true)
	wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
	if resp.Offset != 1 {
		t.Fatalf("marker at offset %d, want 1", resp.Offset)
	}
	if st := g.status(2); st.LogEndOffset < 2 {
		t.Fatalf("marker answered while the follower ends at %d", st.LogEndOffset)
	}
	wantCode(t, g.writeMarker(2, 7, 2, true).ErrorCode, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, "")

	f := g.fetch(1, 1, 0, 0)
	h, err := batch.ParseHeader(f.Records)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Attributes.Control() || !h.Attributes.Transactional() || h.ProducerID != 7 || h.ProducerEpoch != 2 {
		t.Fatalf("stored marker header %+v", h)
	}
	err = batch.ForEach(f.Records, func(r batch.Record) error {
		typ, coord, err := batch.ParseControl(r)
		if err == nil && (typ != batch.ControlCommit || coord != 3) {
			t.Errorf("marker %v coordinator epoch %d, want commit 3", typ, coord)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	g.waitCaughtUp(1)
	g.sameLogs()
}
