// Package workload drives a cluster under test with a steady acks=all
// producer and checks the outcome: every acknowledged record must be in the
// log of its partition, at the offset it was acknowledged with, and the
// records of one stream must keep their order within a partition.
//
//	w := workload.Start(t, cl, "orders", 6, "before-kill")
//	w.WaitProgress(t, 100, time.Minute)
//	c.Kill(leader)
//	acks, failed := w.Finish(t)
//	workload.Verify(t, ctx, cl, "orders", 6, acks)
//
// Failed sends are returned, not judged: whether a refusal is acceptable is
// the test's call.
package workload
