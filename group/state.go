package group

import (
	"errors"
	"fmt"
	"time"
)

// State is a group's position in the classic rebalance protocol. The names
// match Kafka's, so `group describe` prints what Kafka tools print.
type State int8

const (
	// StateEmpty: no members. Committed offsets may still exist; the group is
	// kept until it is deleted.
	StateEmpty State = iota
	// StatePreparingRebalance: the join phase. Members must send JoinGroup
	// again; responses are held until all known members have rejoined or the
	// rebalance timeout passes.
	StatePreparingRebalance
	// StateCompletingRebalance: the join phase is over and the new generation
	// exists; the group waits for the leader's SyncGroup with assignments.
	StateCompletingRebalance
	// StateStable: every member has its assignment for the current generation.
	StateStable
	// StateDead: the group was deleted or moved to another coordinator. Every
	// request fails with COORDINATOR_NOT_AVAILABLE.
	StateDead
)

func (s State) String() string {
	switch s {
	case StateEmpty:
		return "Empty"
	case StatePreparingRebalance:
		return "PreparingRebalance"
	case StateCompletingRebalance:
		return "CompletingRebalance"
	case StateStable:
		return "Stable"
	case StateDead:
		return "Dead"
	}
	return fmt.Sprintf("State(%d)", int8(s))
}

// Config holds the coordinator settings that shape a group's behaviour.
// Start from DefaultConfig; the zero Config is not valid.
type Config struct {
	// MinSessionTimeout and MaxSessionTimeout bound the session timeout a
	// member may ask for (Kafka's group.min/max.session.timeout.ms); joins
	// outside the range fail with INVALID_SESSION_TIMEOUT.
	MinSessionTimeout time.Duration
	MaxSessionTimeout time.Duration
	// InitialRebalanceDelay holds the first rebalance of an empty group open
	// for more members (group.initial.rebalance.delay.ms). Each new member
	// arriving during the delay extends it by the same amount again, up to
	// the rebalance timeout. 0 completes the first join phase as soon as
	// every member has joined.
	InitialRebalanceDelay time.Duration
	// MaxSize caps the number of members (group.max.size); 0 means no cap.
	MaxSize int
	// NewMemberID returns a fresh member id for a member joining without one.
	// nil means clientID + "-" + a random string, as Kafka does. Tests set a
	// deterministic generator.
	NewMemberID func(clientID string) string
}

// DefaultConfig returns Kafka's defaults: sessions from 6 s to 30 min, an
// initial rebalance delay of 3 s and no size cap.
func DefaultConfig() Config {
	return Config{
		MinSessionTimeout:     6 * time.Second,
		MaxSessionTimeout:     30 * time.Minute,
		InitialRebalanceDelay: 3 * time.Second,
	}
}

// Validate reports whether c can drive a group.
func (c Config) Validate() error {
	switch {
	case c.MinSessionTimeout <= 0:
		return fmt.Errorf("%w: min session timeout %v must be positive", ErrInvalidConfig, c.MinSessionTimeout)
	case c.MaxSessionTimeout < c.MinSessionTimeout:
		return fmt.Errorf("%w: max session timeout %v below min %v", ErrInvalidConfig, c.MaxSessionTimeout, c.MinSessionTimeout)
	case c.InitialRebalanceDelay < 0:
		return fmt.Errorf("%w: negative initial rebalance delay %v", ErrInvalidConfig, c.InitialRebalanceDelay)
	case c.MaxSize < 0:
		return fmt.Errorf("%w: negative max size %d", ErrInvalidConfig, c.MaxSize)
	}
	return nil
}

// Package errors. Request outcomes are not among them: those are the
// messages package's wire errors (messages.ErrUnknownMemberID, ...), carried
// in responses.
var (
	// ErrInvalidConfig is returned by Config.Validate and New.
	ErrInvalidConfig = errors.New("group: invalid config")
	// ErrNotFresh is returned by Load on a group that already has state.
	ErrNotFresh = errors.New("group: load into a group that already has state")
	// ErrTruncated is returned by decoders when the input ends inside a field.
	ErrTruncated = errors.New("group: truncated record")
	// ErrUnknownVersion is returned by decoders for a version they cannot read.
	ErrUnknownVersion = errors.New("group: unknown record version")
	// ErrTrailingBytes is returned by decoders when bytes follow the record.
	ErrTrailingBytes = errors.New("group: trailing bytes after record")
	// ErrInvalidRecord is returned by decoders for a well-framed record with
	// an impossible field, such as a negative length other than -1.
	ErrInvalidRecord = errors.New("group: invalid record")
)
