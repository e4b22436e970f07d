#!/bin/bash
# The collector setting of sluiced, A/B in interleaved rounds: one node per
# run (GOGC=100, Go's default, then GOGC=400, sluiced's gc.percent default),
# `sluice bench produce` of 1 KiB records for 6 s, then a catch-up
# `sluice bench consume`; prints the rates, the broker's CPU ticks (1/100 s)
# in each phase and its peak RSS. Usage: benchmarks/gc-percent.sh [ROUNDS]
# from the repository root after `make build`.
set -u
BIN=${BIN:-bin}
ROUNDS=${1:-3}
for r in $(seq 1 $ROUNDS); do
  for gogc in 100 400; do
    d=$(mktemp -d /tmp/gcb.XXXX)
    GOGC=$gogc $BIN/sluiced --data-dir $d/data --listen 127.0.0.1:24650 --http 127.0.0.1:24651 --kafka-listen "" --log-level warn > $d/log 2>&1 &
    pid=$!
    for i in $(seq 1 100); do curl -sf http://127.0.0.1:24651/healthz >/dev/null && break; sleep 0.1; done
    kill -0 $pid || { echo "sluiced did not start:"; cat $d/log; exit 1; }
    t0=$(awk '{print $14+$15}' /proc/$pid/stat)
    p=$($BIN/sluice --brokers 127.0.0.1:24650 -o json bench produce --topic b --record-size 1024 --duration 6s 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(d.get("records_per_sec", d.get("records_per_second",0))))')
    t1=$(awk '{print $14+$15}' /proc/$pid/stat)
    c=$($BIN/sluice --brokers 127.0.0.1:24650 -o json bench consume --topic b 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(round(d.get("mb_per_sec", d.get("megabytes_per_second",0))))')
    t2=$(awk '{print $14+$15}' /proc/$pid/stat)
    hwm=$(grep VmHWM /proc/$pid/status | awk '{print $2}')
    kill $pid; wait $pid 2>/dev/null
    echo "round=$r GOGC=$gogc produce_rps=$p produce_cpu_ticks=$((t1-t0)) consume_MBps=$c consume_cpu_ticks=$((t2-t1)) peak_rss_kB=$hwm"
    rm -rf $d
  done
done
