package messages

// Transaction coordinator actors are children of the node guardian named
// "txn/<transactional id>"; requests reach them through the guardian,
// which checks that the node coordinates the id first.
const (
	// TxnActorPrefix is the name the node guardian gives its transaction
	// coordinator children, before the transactional id.
	TxnActorPrefix = "txn/"
	// TransactionStateTopic is the internal topic holding the state of
	// every transactional id.
	TransactionStateTopic = "__transaction_state"
)

// TxnActorName is the child name of the coordinator actor of
// transactionalID.
func TxnActorName(transactionalID string) string { return TxnActorPrefix + transactionalID }

// TxnActorID is the full process-registry id of the coordinator actor of
// transactionalID: a child of the node guardian.
func TxnActorID(transactionalID string) string {
	return NodeActorID + "/" + TxnActorName(transactionalID)
}
