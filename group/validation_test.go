package group

import (
	"errors"
	"testing"
	"time"
)

func TestGroupJoinValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(h *harness, ids []string, req *JoinRequest)
		want   string
	}{
		// Reference: Kafka GroupCoordinator.handleJoinGroup.
		{"session timeout too small", func(h *harness, _ []string, r *JoinRequest) { r.SessionTimeout = time.Second }, "INVALID_SESSION_TIMEOUT"},
		{"session timeout too large", func(h *harness, _ []string, r *JoinRequest) { r.SessionTimeout = time.Hour }, "INVALID_SESSION_TIMEOUT"},
		{"no protocols", func(h *harness, _ []string, r *JoinRequest) { r.Protocols = nil }, "INCONSISTENT_GROUP_PROTOCOL"},
		{"no protocol type", func(h *harness, _ []string, r *JoinRequest) { r.ProtocolType = "" }, "INCONSISTENT_GROUP_PROTOCOL"},
		{"other protocol type", func(h *harness, _ []string, r *JoinRequest) { r.ProtocolType = "connect" }, "INCONSISTENT_GROUP_PROTOCOL"},
		{"no common protocol", func(h *harness, _ []string, r *JoinRequest) { r.Protocols = protocols("sticky") }, "INCONSISTENT_GROUP_PROTOCOL"},
		{"unknown member id", func(h *harness, _ []string, r *JoinRequest) { r.MemberID = "ghost" }, "UNKNOWN_MEMBER_ID"},
		{"group full", func(h *harness, _ []string, _ *JoinRequest) { h.g.cfg.MaxSize = 1 }, "GROUP_MAX_SIZE_REACHED"},
		{"dead group", func(h *harness, _ []string, _ *JoinRequest) { h.g.Unload(h.now) }, "COORDINATOR_NOT_AVAILABLE"},
		{"fenced instance", func(h *harness, ids []string, r *JoinRequest) {
			h.g.instances["i1"] = ids[0]
			h.g.members[ids[0]].instanceID = "i1"
			r.MemberID, r.GroupInstanceID = "other", "i1"
		}, "FENCED_INSTANCE_ID"},
		// The baseline request is valid.
		{"valid", func(*harness, []string, *JoinRequest) {}, "MEMBER_ID_REQUIRED"},
		{"common protocol among several", func(h *harness, _ []string, r *JoinRequest) { r.Protocols = protocols("sticky", "range") }, "MEMBER_ID_REQUIRED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ids := h.stableGroup("a")
			req := h.joinReq("b", "", "")
			tt.mutate(h, ids, &req)
			fx := h.join(req)
			wantErr(t, "join", joinFor(t, fx, req.RequestID).Err, tt.want)
		})
	}
}

func TestGroupProtocolSelection(t *testing.T) {
	tests := []struct {
		name    string
		members [][]string // each member's protocols in preference order; the first is the leader
		want    string
	}{
		{"one member picks its favourite", [][]string{{"a", "b"}}, "a"},
		{"only common protocol", [][]string{{"a", "b"}, {"b", "c"}}, "b"},
		{"majority vote", [][]string{{"a", "b"}, {"b", "a"}, {"b", "a"}}, "b"},
		{"tie goes to the leader's preference", [][]string{{"a", "b"}, {"b", "a"}}, "a"},
		{"votes only for common protocols", [][]string{{"x", "a", "b"}, {"b", "a"}, {"a", "b"}}, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var last Effects
			var ids []string
			for i, ps := range tt.members {
				id, _, fx := h.newMember(string(rune('p'+i)), ps...)
				ids = append(ids, id)
				last = fx
				_ = id
			}
			// With one member the phase ended at its join; otherwise the
			// rest joined during the first member's generation: have
			// everyone rejoin.
			if len(tt.members) > 1 {
				for i, id := range ids[:1] {
					last = h.join(h.joinReq("x", id, "", tt.members[i]...))
				}
			}
			if len(last.Joins) == 0 {
				t.Fatalf("join phase did not complete; state %v", h.g.State())
			}
			if got := last.Joins[0].ProtocolName; got != tt.want {
				t.Fatalf("protocol %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGroupSyncValidation(t *testing.T) {
	tests := []struct {
		name string
		req  func(ids []string) SyncRequest
		want string
	}{
		{"unknown member", func([]string) SyncRequest { return SyncRequest{MemberID: "ghost", Generation: 2} }, "UNKNOWN_MEMBER_ID"},
		{"old generation", func(ids []string) SyncRequest { return SyncRequest{MemberID: ids[0], Generation: 1} }, "ILLEGAL_GENERATION"},
		{"future generation", func(ids []string) SyncRequest { return SyncRequest{MemberID: ids[0], Generation: 3} }, "ILLEGAL_GENERATION"},
		{"other protocol", func(ids []string) SyncRequest {
			return SyncRequest{MemberID: ids[0], Generation: 2, ProtocolName: "roundrobin"}
		}, "INCONSISTENT_GROUP_PROTOCOL"},
		{"other protocol type", func(ids []string) SyncRequest {
			return SyncRequest{MemberID: ids[0], Generation: 2, ProtocolType: "connect"}
		}, "INCONSISTENT_GROUP_PROTOCOL"},
		{"valid", func(ids []string) SyncRequest {
			return SyncRequest{MemberID: ids[1], Generation: 2, ProtocolType: "consumer", ProtocolName: "range"}
		}, "NONE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ids := h.stableGroup("a", "b")
			req := tt.req(ids)
			req.RequestID = 999
			fx := h.record(h.g.Sync(h.now, req))
			wantErr(t, "sync", syncFor(t, fx, 999).Err, tt.want)
		})
	}

	t.Run("preparing", func(t *testing.T) {
		h := newHarness(t)
		ids := h.stableGroup("a", "b")
		h.join(h.joinReq("a", ids[0], ""))
		rid, fx := h.sync(ids[1], 2, nil)
		wantErr(t, "sync", syncFor(t, fx, rid).Err, "REBALANCE_IN_PROGRESS")
	})
}

func TestGroupHeartbeatValidation(t *testing.T) {
	tests := []struct {
		name string
		req  func(ids []string) HeartbeatRequest
		want string
	}{
		{"valid", func(ids []string) HeartbeatRequest { return HeartbeatRequest{MemberID: ids[1], Generation: 2} }, "NONE"},
		{"unknown member", func([]string) HeartbeatRequest { return HeartbeatRequest{MemberID: "x", Generation: 2} }, "UNKNOWN_MEMBER_ID"},
		{"empty member", func([]string) HeartbeatRequest { return HeartbeatRequest{Generation: -1} }, "UNKNOWN_MEMBER_ID"},
		{"stale generation", func(ids []string) HeartbeatRequest { return HeartbeatRequest{MemberID: ids[0], Generation: 1} }, "ILLEGAL_GENERATION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ids := h.stableGroup("a", "b")
			wantErr(t, "heartbeat", h.g.Heartbeat(h.now, tt.req(ids)), tt.want)
		})
	}
}

func TestGroupCommitOffsetsValidation(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness) []string // returns member ids
		req   func(ids []string) HeartbeatRequest
		want  string
	}{
		// Reference: Kafka GroupCoordinator.handleCommitOffsets.
		{"empty group, simple commit", func(h *harness) []string { return nil },
			func([]string) HeartbeatRequest { return HeartbeatRequest{Generation: -1} }, "NONE"},
		{"empty group, any member with generation -1", func(h *harness) []string { return nil },
			func([]string) HeartbeatRequest { return HeartbeatRequest{MemberID: "admin", Generation: -1} }, "NONE"},
		{"empty group, member and generation", func(h *harness) []string { return nil },
			func([]string) HeartbeatRequest { return HeartbeatRequest{MemberID: "m", Generation: 1} }, "UNKNOWN_MEMBER_ID"},
		{"stable, current member", func(h *harness) []string { return h.stableGroup("a") },
			func(ids []string) HeartbeatRequest { return HeartbeatRequest{MemberID: ids[0], Generation: 1} }, "NONE"},
		{"stable, stale generation", func(h *harness) []string { return h.stableGroup("a", "b") },
			func(ids []string) HeartbeatRequest { return HeartbeatRequest{MemberID: ids[0], Generation: 1} }, "ILLEGAL_GENERATION"},
		{"stable, unknown member", func(h *harness) []string { return h.stableGroup("a") },
			func([]string) HeartbeatRequest { return HeartbeatRequest{MemberID: "x", Generation: 1} }, "UNKNOWN_MEMBER_ID"},
		{"stable, no member and no generation", func(h *harness) []string { return h.stableGroup("a") },
			func([]string) HeartbeatRequest { return HeartbeatRequest{Generation: -1} }, "NONE"},
		{"stable, generation without member", func(h *harness) []string { return h.stableGroup("a") },
			func([]string) HeartbeatRequest { return HeartbeatRequest{Generation: 1} }, "UNKNOWN_MEMBER_ID"},
		{"pending KIP-394 member", func(h *harness) []string {
			fx := h.join(h.joinReq("c", "", ""))
			return []string{fx.Joins[0].MemberID}
		}, func(ids []string) HeartbeatRequest { return HeartbeatRequest{MemberID: ids[0], Generation: -1} }, "UNKNOWN_MEMBER_ID"},
		{"completing rebalance", func(h *harness) []string {
			id, _, _ := h.newMember("a")
			return []string{id}
		}, func(ids []string) HeartbeatRequest { return HeartbeatRequest{MemberID: ids[0], Generation: 1} }, "REBALANCE_IN_PROGRESS"},
		{"dead group", func(h *harness) []string { h.g.Unload(h.now); return nil },
			func([]string) HeartbeatRequest { return HeartbeatRequest{Generation: -1} }, "COORDINATOR_NOT_AVAILABLE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ids := tt.setup(h)
			wantErr(t, "commit", h.g.CommitOffsets(h.now, tt.req(ids)), tt.want)
		})
	}
}

func TestGroupConfigValidate(t *testing.T) {
	for _, mutate := range []func(*Config){
		func(c *Config) { c.MinSessionTimeout = 0 },
		func(c *Config) { c.MaxSessionTimeout = time.Second },
		func(c *Config) { c.InitialRebalanceDelay = -1 },
		func(c *Config) { c.MaxSize = -1 },
	} {
		c := DefaultConfig()
		mutate(&c)
		if _, err := New("g", c); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("config %+v: %v", c, err)
		}
	}
}
