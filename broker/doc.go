// Package broker assembles one Sluice node: its configuration (Config, read
// from YAML with defaults and validation), the actor system with a tuned
// protoactor remote, the node guardian actor, the metadata store and
// membership, and the admin HTTP server (/healthz, /cluster, /metrics,
// /debug/pprof/). /healthz, /cluster and sluice_log_dir_offline report a
// data dir the node took offline after a disk fault (actors/node); a start
// removes the node's offline record from the store. Only with
// Config.FaultInjection (the hidden --test-fault-injection flag, for
// tests) does /test/faults exist, which makes log writes, fsyncs or
// renames fail (storage/vfs.Faulty).
//
//	cfg := broker.DefaultConfig()
//	if err := cfg.LoadFile("sluiced.yaml"); err != nil { ... }
//	if err := cfg.Validate(); err != nil { ... }
//	srv, err := broker.Start(ctx, cfg, logger)
//	...
//	err = srv.Shutdown(ctx) // drain requests, flush and close every log
//
// # Transport sizing
//
// protoactor's remote packs up to Config.Remote.WriterBatchSize messages into
// one gRPC message, and a gRPC message larger than the receiver's
// MaxRecvMsgSize tears the whole connection down. A node therefore bounds
// every message it accepts or sends: produce requests and fetch responses
// carry at most MaxRequestBytes of records (default 8 MiB), the writer batch
// is 16 messages, and the receive limit is 256 MiB, so 16 × (8 MiB + framing)
// stays well below it. Validate enforces batch × max request < receive limit.
// A topic's max.message.bytes may not exceed MaxRequestBytes, so an oversized
// produce is refused with MESSAGE_TOO_LARGE instead of breaking the
// connection. Clients must use the same receive limit and a batch size that
// respects it.
package broker
