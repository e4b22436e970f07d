package messages

// Group coordinator actors are children of the node guardian named
// "group/<group id>"; requests reach them through the guardian, which
// checks that the node coordinates the group first.
const (
	// GroupActorPrefix is the name the node guardian gives its group
	// coordinator children, before the group id.
	GroupActorPrefix = "group/"
	// ConsumerOffsetsTopic is the internal topic holding committed offsets
	// and group metadata.
	ConsumerOffsetsTopic = "__consumer_offsets"
)

// GroupActorName is the child name of the coordinator actor of groupID.
func GroupActorName(groupID string) string { return GroupActorPrefix + groupID }

// GroupActorID is the full process-registry id of the coordinator actor of
// groupID: a child of the node guardian.
func GroupActorID(groupID string) string { return NodeActorID + "/" + GroupActorName(groupID) }
