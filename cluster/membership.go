package cluster

import "context"

// Member is one node of the cluster as other nodes and clients see it.
type Member struct {
	NodeID int32 `json:"node_id"`
	// Address is the host:port of the node's actor remote.
	Address string `json:"address"`
	// HTTPAddress is the host:port of the node's admin HTTP server.
	HTTPAddress string `json:"http_address"`
	// KafkaAddress is the advertised host:port of the node's Kafka
	// listener ("" if it has none).
	KafkaAddress string `json:"kafka_address,omitempty"`
}

// Membership tracks which nodes are alive and which one is the controller.
// Consul implements it with a service + TTL check, a session bound to it, an
// ephemeral node key and a lock key; the local implementation has one member
// that always holds the controller lock.
type Membership interface {
	// Join registers self and keeps the registration alive (TTL updates,
	// session renewal, re-registration after the agent loses state) until
	// Leave or ctx is done.
	Join(ctx context.Context, self Member) error

	// Leave deregisters self and releases the controller lock if held.
	Leave(ctx context.Context) error

	// Members returns the live members sorted by NodeID and the index for
	// WatchMembers.
	Members(ctx context.Context) ([]Member, uint64, error)

	// WatchMembers blocks until membership changes after index (or the wait
	// time passes) and returns the new list and index.
	WatchMembers(ctx context.Context, index uint64) ([]Member, uint64, error)

	// Campaign blocks until this node holds the controller lock, or ctx is
	// done. The returned channel is closed when the lock is lost.
	Campaign(ctx context.Context) (lost <-chan struct{}, err error)

	// Controller returns the node id of the current controller, or -1.
	Controller(ctx context.Context) (int32, error)
}
