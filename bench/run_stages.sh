#!/usr/bin/env bash
# bench/: where the DaemonSet pipeline's CPU goes, stage by stage. bench/daemonset.conf is cut
# after each stage, the rest replaced by `@type null`, and run on the same workload:
#   tail      tail + kubernetes parser
#   parser    + parser filter (JSON in `log`)
#   metadata  + kubernetes_metadata (Kubernetes API stand-in)
#   redact    + redact
#   memory    + elasticsearch through a memory buffer (stand-in)
#   file      + elasticsearch through the file buffer: the whole pipeline (bench/run_daemonset.sh)
# One run of each in turn per round; prints each run's CPU-s per million lines (user + sys) and
# peak RSS. The null stages end when the pos_file shows every file read, the others when the
# stand-in stored every line.
#   bash bench/run_stages.sh [LINES] [ROUNDS] [STAGE...]
# Environment: WORKLOAD=node|small (default node), SLUICE_BIN, SLUICE_BUILD_DIR (as for
# bench/run_daemonset.sh).
set -euo pipefail
export SLUICE_MONITOR_PORT="${SLUICE_MONITOR_PORT:-0}"
cd "$(dirname "$0")/.."
lines=${1:-1000000}
rounds=${2:-1}
shift $(( $# > 2 ? 2 : $# ))
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(tail parser metadata redact memory file)
workload=${WORKLOAD:-node}
source bench/pipeline_binaries.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/var/log/containers"
"$build/bench/sluice_gen_cri" "$work/var/log/containers" "$lines" 8 "$workload"
python3 - bench/daemonset.conf "$work" <<'PY'
import sys
src, out = open(sys.argv[1]).read(), sys.argv[2]
head, match = src.split("<match kubernetes.**>", 1)
source, *filters = head.split("<filter kubernetes.**>")
filters = ["<filter kubernetes.**>" + f for f in filters]
null = "<match kubernetes.**>\n  @type null\n</match>\n"
file_match = "<match kubernetes.**>" + match
memory_match = file_match.replace('@type file\n    path "#{ENV[\'SLUICE_BENCH_DIR\']}/buffer"\n', "@type memory\n")
assert memory_match != file_match, "bench/daemonset.conf's <buffer> changed: update bench/run_stages.sh"
confs = {"tail": source + null, "parser": source + filters[0] + null,
         "metadata": source + "".join(filters[:2]) + null, "redact": source + "".join(filters[:3]) + null,
         "memory": source + "".join(filters) + memory_match, "file": source + "".join(filters) + file_match}
for name, text in confs.items():
    open(f"{out}/{name}.conf", "w").write(text)
PY
sync
cat "$work"/var/log/containers/*.log > /dev/null
files=$(ls "$work"/var/log/containers/*.log | paste -sd,)
echo "input: $lines lines, workload $workload; $(nproc) cores; $sluice"
status=0
for round in $(seq 1 "$rounds"); do
  for stage in "${stages[@]}"; do
    [ -f "$work/$stage.conf" ] || { echo "unknown stage: $stage"; exit 2; }
    rm -rf "$work/tail.pos" "$work/buffer" "$work/status" "$work/ports"
    "$build/bench/sluice_bench_standins" 8 "$work/status" "$workload" es > "$work/ports" 2> "$work/standins.err" &
    standins=$!
    while [ ! -s "$work/ports" ]; do sleep 0.05; done
    read -r port k8s < "$work/ports"
    if [ "$stage" = memory ] || [ "$stage" = file ]; then
      watch=(--count "$work/status" "$lines")
    else
      watch=("$work/tail.pos" "$files")
    fi
    read -r wall cpu hwm user sys < <(SLUICE_BENCH_DIR="$work" SLUICE_BENCH_SINK_PORT="$port" \
      SLUICE_BENCH_K8S_PORT="$k8s" python3 bench/proc_watch.py "${watch[@]}" "$sluice" -c "$work/$stage.conf" --log-level warn)
    kill -TERM "$standins"
    wait "$standins" || true
    stored=$(cat "$work/status" 2>/dev/null || echo 0)
    python3 -c "import sys; n=int(sys.argv[1]); c,u,s,h=map(float,sys.argv[2:6]); m=1e6/n
print(f'{sys.argv[6]:9} {c*m:.2f} CPU-s per million lines (user {u*m:.2f}, sys {s*m:.2f}), peak RSS {h/1024:.1f} MiB')" \
      "$lines" "$cpu" "$user" "$sys" "$hwm" "$stage"
    if { [ "$stage" = memory ] || [ "$stage" = file ]; } && [ "$stored" != "$lines" ]; then
      echo "MISMATCH: the stand-in stored $stored documents for $lines lines"
      status=1
    fi
  done
done
exit $status
