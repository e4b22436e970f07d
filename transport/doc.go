// Package transport holds the gRPC tuning shared by a node's actor remote
// and the client's: a buffer pool that does not clear buffers (Pool) and a
// proto codec that takes its buffers from it (Codec).
//
// Both sides of every connection carry record batches of tens of KiB to a
// few MiB; grpc's defaults clear every pooled buffer over its whole tier
// and copy single-buffer messages before unmarshalling them, which costs
// more CPU than the broker's own work on the produce path.
//
//	pool := transport.NewPool()
//	grpc.ForceServerCodecV2(transport.Codec{Pool: pool})
//	experimental.BufferPool(pool)
package transport
