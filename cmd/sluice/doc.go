// Command sluice administers a Sluice cluster and moves records in and out
// of it: topics, a console producer and consumer, cluster status and
// benchmarks.
//
//	sluice topic create orders --partitions 6 --replication-factor 3 --config retention.ms=86400000
//	sluice topic list -o json
//	seq 100 | sluice produce orders
//	sluice consume orders --from-beginning --max-messages 100
//	sluice bench produce --record-size 1024 --duration 10s
//
// --brokers (or SLUICE_BROKERS) names seed nodes' remotes. Errors end the
// command with a one-line reason on stderr and a non-zero exit code: 1 for
// failures, 2 for bad usage.
//
// Besides topics, produce and consume: consumer groups (`group`),
// transactions (`txn`), partition moves, delete-records and leader
// elections (`partition`), replica balancing (`cluster balance`, `node
// decommission`), the effective and valid topic configs (`topic describe`,
// `topic configs`) and shell completion (`completion bash|zsh|fish`).
package main
