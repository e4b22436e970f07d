package e2e

import (
	"encoding/binary"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// roundTrip writes req at its version on nc and reads the response into
// resp (both non-flexible versions).
func roundTrip(t *testing.T, nc net.Conn, corr int32, req kmsg.Request, resp kmsg.Response) {
	t.Helper()
	b := kmsg.NewRequestFormatter(kmsg.FormatterClientID("old-client")).AppendRequest(nil, req, corr)
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
	body := readResponse(t, nc)
	if got := int32(binary.BigEndian.Uint32(body)); got != corr {
		t.Fatalf("correlation id %d, want %d", got, corr)
	}
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(body[4:]); err != nil {
		t.Fatalf("%T v%d: %v", resp, req.GetVersion(), err)
	}
}

// TestKafkaOldJoinGroup joins a group at JoinGroup v0-v3 (sarama's
// default version sends v3), which know no MEMBER_ID_REQUIRED: the member
// is joined with an assigned id in one round trip, syncs, heartbeats and
// leaves at the versions of its time.
func TestKafkaOldJoinGroup(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	createTopic(t, newClient(t, c), "old", 2, nil)
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{"old"}
	for v := int16(0); v <= 3; v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			t.Parallel()
			group := fmt.Sprintf("old-v%d", v)
			nc := rawConn(t, c.Kafka(0))

			// As the clients of the time: find the coordinator first (it
			// may still be loading the group's offsets partition).
			find := kmsg.NewPtrFindCoordinatorRequest()
			find.SetVersion(0)
			find.CoordinatorKey = group
			fr := kmsg.NewPtrFindCoordinatorResponse()
			for corr := int32(100); ; corr++ {
				roundTrip(t, nc, corr, find, fr)
				if fr.ErrorCode == 0 {
					break
				}
				if int64(corr) > 100+waitTimeout.Milliseconds()/100 {
					t.Fatalf("find coordinator: error %d", fr.ErrorCode)
				}
				time.Sleep(100 * time.Millisecond)
			}
			if addr := net.JoinHostPort(fr.Host, strconv.Itoa(int(fr.Port))); fr.NodeID != 1 || addr != c.Kafka(0) {
				t.Fatalf("coordinator %d at %s", fr.NodeID, addr)
			}

			join := kmsg.NewPtrJoinGroupRequest()
			join.SetVersion(v)
			join.Group, join.ProtocolType = group, "consumer"
			join.SessionTimeoutMillis, join.RebalanceTimeoutMillis = 10000, 10000
			jp := kmsg.NewJoinGroupRequestProtocol()
			jp.Name, jp.Metadata = "range", meta.AppendTo(nil)
			join.Protocols = append(join.Protocols, jp)
			jr := kmsg.NewPtrJoinGroupResponse()
			// COORDINATOR_LOAD_IN_PROGRESS and COORDINATOR_NOT_AVAILABLE
			// are retried, as by every client.
			for corr := int32(200); ; corr++ {
				roundTrip(t, nc, corr, join, jr)
				if (jr.ErrorCode != 14 && jr.ErrorCode != 15) || int64(corr) > 200+waitTimeout.Milliseconds()/100 {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if jr.ErrorCode != 0 || jr.MemberID == "" || jr.Generation < 1 || jr.LeaderID != jr.MemberID ||
				jr.Protocol == nil || *jr.Protocol != "range" || len(jr.Members) != 1 {
				t.Fatalf("join: %+v", jr)
			}

			assignment := kmsg.NewConsumerMemberAssignment()
			at := kmsg.NewConsumerMemberAssignmentTopic()
			at.Topic, at.Partitions = "old", []int32{0, 1}
			assignment.Topics = append(assignment.Topics, at)
			sync := kmsg.NewPtrSyncGroupRequest()
			sync.SetVersion(min(v, 2))
			sync.Group, sync.Generation, sync.MemberID = group, jr.Generation, jr.MemberID
			sa := kmsg.NewSyncGroupRequestGroupAssignment()
			sa.MemberID, sa.MemberAssignment = jr.MemberID, assignment.AppendTo(nil)
			sync.GroupAssignment = append(sync.GroupAssignment, sa)
			sr := kmsg.NewPtrSyncGroupResponse()
			roundTrip(t, nc, 2, sync, sr)
			var got kmsg.ConsumerMemberAssignment
			if err := got.ReadFrom(sr.MemberAssignment); sr.ErrorCode != 0 || err != nil ||
				len(got.Topics) != 1 || len(got.Topics[0].Partitions) != 2 {
				t.Fatalf("sync: %+v (%v)", sr, err)
			}

			hb := kmsg.NewPtrHeartbeatRequest()
			hb.SetVersion(min(v, 2))
			hb.Group, hb.Generation, hb.MemberID = group, jr.Generation, jr.MemberID
			hr := kmsg.NewPtrHeartbeatResponse()
			roundTrip(t, nc, 3, hb, hr)
			if hr.ErrorCode != 0 {
				t.Fatalf("heartbeat: error %d", hr.ErrorCode)
			}

			leave := kmsg.NewPtrLeaveGroupRequest()
			leave.SetVersion(min(v, 2))
			leave.Group, leave.MemberID = group, jr.MemberID
			lr := kmsg.NewPtrLeaveGroupResponse()
			roundTrip(t, nc, 4, leave, lr)
			if lr.ErrorCode != 0 {
				t.Fatalf("leave: error %d", lr.ErrorCode)
			}
		})
	}
}
