package group

import "time"

// RequestID is chosen by the caller for each JoinGroup and SyncGroup request
// and echoed in the response, so the caller can route a response that is
// produced long after the request (join responses wait for the rebalance).
// The group never interprets it.
type RequestID uint64

// Protocol is one assignment protocol a member supports, in the member's
// order of preference, with the member's metadata for it (for the consumer
// protocol: an encoded assign.Subscription).
type Protocol struct {
	Name     string
	Metadata []byte
}

// JoinRequest is a JoinGroup request.
type JoinRequest struct {
	RequestID RequestID
	// MemberID is "" on a member's first join; the group then answers
	// MEMBER_ID_REQUIRED with a new id, and the member joins again with it
	// (KIP-394). Static members (GroupInstanceID set) skip that round trip.
	MemberID        string
	GroupInstanceID string // "" for dynamic members (KIP-345)
	ClientID        string
	ClientHost      string
	SessionTimeout  time.Duration
	// RebalanceTimeout bounds how long the join phase waits for this member;
	// 0 means SessionTimeout (JoinGroup v0).
	RebalanceTimeout time.Duration
	ProtocolType     string // "consumer" for the consumer protocol
	Protocols        []Protocol
	// MemberIDOptional admits a member joining without an id at once,
	// without the MEMBER_ID_REQUIRED round trip, for JoinGroup v0–v3
	// clients, which predate KIP-394.
	MemberIDOptional bool
}

// JoinMember is one member as the leader sees it in its join response.
type JoinMember struct {
	MemberID        string
	GroupInstanceID string
	Metadata        []byte // the member's metadata for the chosen protocol
}

// JoinResponse answers the JoinRequest with the same RequestID.
type JoinResponse struct {
	RequestID RequestID
	// Err is nil or one of the messages package's errors: MEMBER_ID_REQUIRED
	// (with MemberID set), UNKNOWN_MEMBER_ID, INCONSISTENT_GROUP_PROTOCOL,
	// INVALID_SESSION_TIMEOUT, FENCED_INSTANCE_ID, GROUP_MAX_SIZE_REACHED,
	// REBALANCE_IN_PROGRESS (superseded by a newer join from the same member),
	// COORDINATOR_NOT_AVAILABLE or NOT_COORDINATOR.
	Err          error
	Generation   int32 // -1 with an error
	ProtocolType string
	ProtocolName string
	LeaderID     string
	MemberID     string
	// Members is set for the leader only: every member of the new generation
	// in join order, for the leader's assignor.
	Members []JoinMember
}

// SyncRequest is a SyncGroup request.
type SyncRequest struct {
	RequestID       RequestID
	MemberID        string
	GroupInstanceID string
	Generation      int32
	ProtocolType    string // optional (SyncGroup v5): checked when set
	ProtocolName    string // optional (SyncGroup v5): checked when set
	// Assignments maps member id to its assignment; only the leader sends it.
	// Members missing from it get an empty assignment.
	Assignments map[string][]byte
}

// SyncResponse answers the SyncRequest with the same RequestID.
type SyncResponse struct {
	RequestID RequestID
	// Err is nil or UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
	// REBALANCE_IN_PROGRESS, INCONSISTENT_GROUP_PROTOCOL, FENCED_INSTANCE_ID,
	// COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR or the error a failed
	// persist reported.
	Err          error
	ProtocolType string
	ProtocolName string
	Assignment   []byte
}

// HeartbeatRequest identifies the member behind a Heartbeat, an
// OffsetCommit or a TxnOffsetCommit.
type HeartbeatRequest struct {
	MemberID        string
	GroupInstanceID string
	Generation      int32
}

// LeaveMember is one member of a LeaveGroup request (v3+ batches several).
// Static members may be named by GroupInstanceID alone.
type LeaveMember struct {
	MemberID        string
	GroupInstanceID string
}

// Persist asks the caller to append the group's metadata record to its
// __consumer_offsets partition: key EncodeGroupKey(Group), value
// Metadata.Encode(), or a tombstone (nil value) when Metadata is nil.
type Persist struct {
	Group string
	// Generation identifies the write; pass it back to PersistDone.
	Generation int32
	Metadata   *Metadata // nil: the group was deleted, write a tombstone
}

// Effects is what a call asks the caller to carry out, in order: write
// Persist (if any), deliver the responses, and call Tick again at Deadline.
type Effects struct {
	Joins []JoinResponse
	Syncs []SyncResponse
	// Persist is nil when nothing needs writing. When the leader's SyncGroup
	// produced it, the follower responses wait for PersistDone.
	Persist *Persist
	// Deadline is when Tick must next be called; zero means no timer is
	// needed. It replaces any deadline returned earlier.
	Deadline time.Time
}
