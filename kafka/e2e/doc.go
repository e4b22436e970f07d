// Package e2e tests the Kafka listener against real sluiced processes with
// real Kafka clients: franz-go's kgo in Go, kcat (librdkafka) as a
// process, confluent-kafka-python (Debian's python3-confluent-kafka) running
// testdata/confluent_kafka_check.py, and raw sockets for bad input.
package e2e
