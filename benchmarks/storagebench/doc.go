// Package storagebench is a benchmark suite for partition logs: append
// throughput with and without durability, alone and with concurrent
// appenders, and sequential read throughput. It drives any Log through a
// small interface and builds real Kafka v2 batches with package batch.
//
// # Usage
//
//	func BenchmarkMyLog(b *testing.B) {
//		storagebench.Append(b, openMyLog, storagebench.Workload{RecordBytes: 1024, BatchBytes: 64 << 10})
//	}
//
// Results are reported per batch byte (b.SetBytes) plus a records/s
// metric, so runs compare with the figures in PERF.md.
package storagebench
