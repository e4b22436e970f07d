package reassign

import "github.com/sluice-mq/sluice/cluster/clustertest/workload"

// acked is one acknowledged record of the workload producer.
type acked = workload.Ack

// readAll consumes topic/p from the log start up to its current end and
// returns value by offset.
func (e *env) readAll(topic string, p int32) map[int64]string {
	e.t.Helper()
	log, err := workload.ReadPartition(e.ctx(), e.cl, topic, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return log
}

// verify checks every acknowledged record against the partition logs.
func (e *env) verify(topic string, parts int32, acks []acked) {
	e.t.Helper()
	workload.Verify(e.t, e.ctx(), e.cl, topic, parts, acks)
}
