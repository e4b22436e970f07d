// Package scale holds the scale tests of one node: a real sluiced hosting
// a topic of 10,000 partitions, answering metadata while it creates them,
// leading every one, restarting, and refusing a topic over the partition
// limit without leaving directories behind. Timings are logged for
// docs/benchmarks.md, never asserted.
package scale
