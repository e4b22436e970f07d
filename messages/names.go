package messages

import "strconv"

// Actor names are deterministic so that any process can compute a PID from
// metadata alone: PID{Address: node's advertised remote address, Id: name}.
const (
	// NodeActorID is the guardian actor of every node; it serves Admin requests.
	NodeActorID = "node"
	// ReplicaActorPrefix is the name the node guardian gives its replica
	// children, before "<topic>/<partition>".
	ReplicaActorPrefix = "replica/"
)

// ReplicaActorName is the child name the node guardian spawns a partition
// replica actor under.
func ReplicaActorName(topic string, partition int32) string {
	return ReplicaActorPrefix + topic + "/" + strconv.Itoa(int(partition))
}

// ReplicaActorID is the full process-registry id of a partition replica
// actor: a child of the node guardian.
func ReplicaActorID(topic string, partition int32) string {
	return NodeActorID + "/" + ReplicaActorName(topic, partition)
}
