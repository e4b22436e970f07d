package node

import (
	"maps"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/messages"
)

// Directory maps node ids to the remote addresses of the live members.
// The guardian replaces its contents on every membership change; replica
// actors read it (through Peer) from their own goroutines, so it is an
// atomic snapshot rather than actor state.
type Directory struct {
	addrs atomic.Pointer[map[int32]string]
	// leaving holds the nodes in controlled shutdown, from the metadata.
	leaving atomic.Pointer[map[int32]bool]
}

// NewDirectory returns a directory knowing the given members.
func NewDirectory(members []cluster.Member) *Directory {
	d := &Directory{}
	d.set(members)
	return d
}

func (d *Directory) set(members []cluster.Member) {
	m := make(map[int32]string, len(members))
	for _, mb := range members {
		m[mb.NodeID] = mb.Address
	}
	d.addrs.Store(&m)
}

func (d *Directory) setShuttingDown(nodes map[int32]bool) {
	m := maps.Clone(nodes)
	d.leaving.Store(&m)
}

// ShuttingDown reports whether node id is in controlled shutdown: leaders
// do not add it to their ISR (partition.Config.ShuttingDown).
func (d *Directory) ShuttingDown(id int32) bool {
	m := d.leaving.Load()
	return m != nil && (*m)[id]
}

// Address returns the remote address of live member id.
func (d *Directory) Address(id int32) (string, bool) {
	m := d.addrs.Load()
	if m == nil {
		return "", false
	}
	addr, ok := (*m)[id]
	return addr, ok
}

// Addresses returns a copy of the id → address map.
func (d *Directory) Addresses() map[int32]string {
	m := d.addrs.Load()
	if m == nil {
		return map[int32]string{}
	}
	return maps.Clone(*m)
}

// ReplicaPID returns the PID of the replica of topic/partition on live
// member id, nil when id is not a live member.
func (d *Directory) ReplicaPID(id int32, topic string, partition int32) *actor.PID {
	addr, ok := d.Address(id)
	if !ok {
		return nil
	}
	return actor.NewPID(addr, messages.ReplicaActorID(topic, partition))
}

// Peer returns the resolver a replica of topic/partition uses to reach
// the same partition's replica on another node (partition.Config.Peer):
// the PID {member address, messages.ReplicaActorID(topic, partition)}, nil
// for a node that is not a live member. The returned func caches PIDs and
// is meant for the one replica actor that calls it from its Receive.
func (d *Directory) Peer(topic string, partition int32) func(nodeID int32) *actor.PID {
	id := messages.ReplicaActorID(topic, partition)
	cache := make(map[int32]*actor.PID)
	return func(node int32) *actor.PID {
		addr, ok := d.Address(node)
		if !ok {
			return nil
		}
		if pid := cache[node]; pid != nil && pid.Address == addr {
			return pid
		}
		pid := actor.NewPID(addr, id)
		cache[node] = pid
		return pid
	}
}
