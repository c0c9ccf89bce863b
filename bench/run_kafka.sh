#!/usr/bin/env bash
# bench/: generated JSON lines (~250 bytes) through
#   stdin -> json parser -> kafka2 (memory buffer, 2 flush threads) -> librdkafka's mock cluster
# The mock cluster (3 brokers, topic `bench`) runs in sluice_kafka_bench, which runs sluice and
# counts the messages Kafka holds afterwards. Prints sluice's wall and CPU time, events/s and
# peak RSS, and the mock cluster's CPU, for each of 3 runs.
#   bash bench/run_kafka.sh [LINES] [PARTITIONS] [COMPRESSION]
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}
partitions=${2:-3}
codec=${3:-none}
bash scripts/build.sh sluice sluice_gen sluice_kafka_bench >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
./build/bench/sluice_gen "$lines" > "$work/in.jsonl"
bytes=$(stat -c %s "$work/in.jsonl")
echo "input: $lines lines, $bytes bytes ($((bytes / lines)) bytes/line); $partitions partitions, compression $codec; $(nproc) cores; $(uname -r)"
cat "$work/in.jsonl" > /dev/null  # warm the page cache
for run in 1 2 3; do
  ./build/bench/sluice_kafka_bench ./build/sluice "$work/in.jsonl" "$lines" "$partitions" "$codec"
done
