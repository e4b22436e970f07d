#!/bin/sh
# Zero-copy Fetch through the Kafka listener, in one run with interleaved
# rounds (docs/benchmarks.md, "Kafka listener: zero-copy fetch"):
#   catch-up consume of one partition of 1 KiB records with kgo through
#   the Kafka listener, sendfile (node Z) vs the copying path (node C,
#   --kafka-zero-copy=false), vs the actor client (sluice bench consume),
#   with the broker's CPU time for each; and the kgo producer, 1 KiB
#   records to one partition, vs sluice bench produce.
# Usage: benchmarks/kafka-zero-copy.sh [rounds] [records]   (from the repo root)
set -eu
ROUNDS=${1:-3}
RECORDS=${2:-1000000}
WORK=$(mktemp -d)
go build -o "$WORK/sluiced" ./cmd/sluiced
go build -o "$WORK/sluice" ./cmd/sluice
Z=127.0.0.1:19650 ZK=127.0.0.1:19092
C=127.0.0.1:29650 CK=127.0.0.1:29092
"$WORK/sluiced" --node-id 1 --data-dir "$WORK/z" --listen $Z --http 127.0.0.1:19080 --kafka-listen $ZK --log-level warn >"$WORK/z.log" 2>&1 &
ZPID=$!
"$WORK/sluiced" --node-id 1 --data-dir "$WORK/c" --listen $C --http 127.0.0.1:29080 --kafka-listen $CK --kafka-zero-copy=false --log-level warn >"$WORK/c.log" 2>&1 &
CPID=$!
trap 'kill $ZPID $CPID 2>/dev/null; wait; tail -n 5 "$WORK/z.log" "$WORK/c.log" >&2; rm -rf "$WORK"' EXIT
sleep 3
S="$WORK/sluice"
# The same records on both nodes: one partition, 1 KiB values.
$S --brokers $Z bench produce --topic catchup --records "$RECORDS" --acks 1 -o json >/dev/null
$S --brokers $C bench produce --topic catchup --records "$RECORDS" --acks 1 -o json >/dev/null
mb() { sed -n 's/.*"mb_per_sec": *\([0-9.]*\).*/\1/p' | cut -d. -f1; }
recs() { sed -n 's/.*"records_per_sec": *\([0-9.]*\).*/\1/p' | cut -d. -f1; }
ticks() { awk '{print $14 + $15}' /proc/$1/stat; }         # user + system, 1/100 s
for r in $(seq "$ROUNDS"); do
	t0=$(ticks $ZPID); zc=$($S bench kafka-consume --kafka $ZK --topic catchup -o json | mb); zt=$(( $(ticks $ZPID) - t0 ))
	t0=$(ticks $CPID); cp=$($S bench kafka-consume --kafka $CK --topic catchup -o json | mb); ct=$(( $(ticks $CPID) - t0 ))
	t0=$(ticks $ZPID); ac=$($S --brokers $Z bench consume --topic catchup -o json | mb); at=$(( $(ticks $ZPID) - t0 ))
	kp=$($S bench kafka-produce --kafka $ZK --topic "kp$r" --records "$RECORDS" -o json | recs)
	ap=$($S --brokers $Z bench produce --topic "ap$r" --records "$RECORDS" --acks 1 -o json | recs)
	echo "round $r: consume MB/s (broker CPU 1/100 s): kafka-sendfile $zc ($zt) kafka-copy $cp ($ct) actor $ac ($at) | produce rec/s: kgo $kp actor $ap"
done
