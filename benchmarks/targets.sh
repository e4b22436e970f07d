#!/bin/bash
# The performance targets' rows for two builds, interleaved in three rounds, with the raw file write
# ceiling (storage/commitlog BenchmarkRawFileWrite64KiB) in each round: one node (1 KiB and 100 B
# produce for 6 s and their catch-up consume, one partition; p50/p99 at 20k records/s) and three
# nodes with a Consul dev agent (6 partitions, RF 3, min.insync.replicas 2, acks=all; p50/p99 at
# 5k records/s). Put each build's sluiced and sluice in /tmp/<name>/; run from the repository
# root. Usage: benchmarks/targets.sh [name ...] (default: before after)
set -u
BUILDS=${*:-before after}
CONSUL=${CONSUL:-bin/consul}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
wait_http() { for port in "$@"; do for i in $(seq 1 200); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done; done; }
for r in 1 2 3; do
  raw=$(go test -run '^$' -bench 'BenchmarkRawFileWrite64KiB' -count 1 ./storage/commitlog 2>/dev/null | awk '/RawFileWrite/ {for(i=1;i<=NF;i++) if ($(i)=="MB/s") print $(i-1)}')
  echo "round=$r ceiling raw_file_write_MBps=$raw"
  for v in $BUILDS; do
    B=/tmp/$v; d=$(mktemp -d /tmp/i12.XXXX)
    $B/sluiced --data-dir $d/data --listen 127.0.0.1:26650 --http 127.0.0.1:26651 --kafka-listen "" --log-level warn > $d/log 2>&1 &
    pid=$!; wait_http 26651
    for s in 1024 100; do
      p=$($B/sluice --brokers 127.0.0.1:26650 -o json bench produce --topic s$s --record-size $s --duration 6s 2>/dev/null | json 'int(d["records_per_sec"])')
      c=$($B/sluice --brokers 127.0.0.1:26650 -o json bench consume --topic s$s 2>/dev/null | json 'int(d["records_per_sec"]), int(d["mb_per_sec"])')
      echo "round=$r $v node1 size=$s produce_rps=$p consume_rps,MBps=$c"
    done
    l=$($B/sluice --brokers 127.0.0.1:26650 -o json bench produce --topic lat --record-size 1024 --rate 20000 --linger 1ms --duration 8s 2>/dev/null | json 'd["latency_p50_ms"], d["latency_p99_ms"]')
    echo "round=$r $v node1 latency_20k_p50,p99=$l"
    kill $pid; wait $pid 2>/dev/null; rm -rf $d
    # three nodes
    d=$(mktemp -d /tmp/i12c.XXXX); mkdir -p $d/data
    $CONSUL agent -dev -bind 127.0.0.1 -client 127.0.0.1 -http-port 27500 -server-port 27300 -serf-lan-port 27301 -serf-wan-port 27302 -dns-port -1 -grpc-port -1 > $d/consul.log 2>&1 &
    cpid=$!
    for i in $(seq 1 100); do [ -n "$(curl -sf http://127.0.0.1:27500/v1/status/leader | tr -d '"')" ] && break; sleep 0.1; done
    pids=""
    for n in 1 2 3; do $B/sluiced --node-id $n --consul 127.0.0.1:27500 --data-dir $d/data/node$n --listen 127.0.0.1:2761$n --http 127.0.0.1:2762$n --kafka-listen "" --log-level warn > $d/node$n.log 2>&1 & pids="$pids $!"; done
    wait_http 27621 27622 27623
    for s in 1024 100; do
      $B/sluice --brokers 127.0.0.1:27611 topic create r$s -p 6 -r 3 -c min.insync.replicas=2 >/dev/null 2>&1
      p=$($B/sluice --brokers 127.0.0.1:27611 -o json bench produce --topic r$s --acks all --record-size $s --duration 8s 2>/dev/null | json 'int(d["records_per_sec"])')
      c=$($B/sluice --brokers 127.0.0.1:27611 -o json bench consume --topic r$s 2>/dev/null | json 'int(d["records_per_sec"]), int(d["mb_per_sec"])')
      echo "round=$r $v node3 size=$s produce_rps=$p consume_rps,MBps=$c"
    done
    $B/sluice --brokers 127.0.0.1:27611 topic create lat3 -p 6 -r 3 -c min.insync.replicas=2 >/dev/null 2>&1
    l=$($B/sluice --brokers 127.0.0.1:27611 -o json bench produce --topic lat3 --acks all --record-size 1024 --rate 5000 --linger 1ms --duration 8s 2>/dev/null | json 'd["latency_p50_ms"], d["latency_p99_ms"]')
    echo "round=$r $v node3 latency_5k_p50,p99=$l"
    kill $pids; wait $pids 2>/dev/null; kill $cpid; wait $cpid 2>/dev/null; rm -rf $d
  done
  echo "round=$r load=$(cut -d' ' -f1-3 /proc/loadavg)"
done
