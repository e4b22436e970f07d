#!/bin/bash
# Throughput across partition counts on one node, for builds interleaved in three rounds: a fresh
# node per run, a topic of P partitions, `sluice bench produce` of 1 KiB records for 5 s (acks=1),
# then the first catch-up `sluice bench consume` of everything produced (the case that used to stall
# a consumer of many partitions at its start). Put each build's sluiced and sluice in /tmp/<name>/;
# run from anywhere. Usage: benchmarks/partitions.sh [name ...] (default: before after)
set -u
BUILDS=${*:-before after}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
for r in 1 2 3; do for P in 1 16 64 256; do for v in $BUILDS; do
  B=/tmp/$v; d=$(mktemp -d /tmp/parts.XXXX)
  $B/sluiced --data-dir $d/data --listen 127.0.0.1:25750 --http 127.0.0.1:25751 --kafka-listen "" --log-level warn > $d/log 2>&1 &
  pid=$!
  for i in $(seq 1 200); do curl -sf http://127.0.0.1:25751/healthz >/dev/null && break; sleep 0.1; done
  $B/sluice --brokers 127.0.0.1:25750 topic create parts --partitions $P >/dev/null
  p=$($B/sluice --brokers 127.0.0.1:25750 -o json bench produce --topic parts --record-size 1024 --duration 5s 2>/dev/null | json 'int(d["records_per_sec"])')
  c=$($B/sluice --brokers 127.0.0.1:25750 -o json bench consume --topic parts --duration 60s 2>/dev/null | json 'int(d["mb_per_sec"]), d.get("reached_end")')
  hwm=$(grep VmHWM /proc/$pid/status | awk '{print $2}')
  kill $pid; wait $pid 2>/dev/null; rm -rf $d
  echo "round=$r $v partitions=$P produce_rps=$p consume_MBps,reached_end=$c broker_peak_rss_kB=$hwm"
done; done; echo "round=$r load=$(cut -d' ' -f1-3 /proc/loadavg)"; done
