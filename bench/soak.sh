#!/usr/bin/env bash
# bench/: the soak of issue 20 — the DaemonSet pipeline (bench/daemonset.conf: tail -> kubernetes
# parser -> JSON -> kubernetes_metadata -> redact -> elasticsearch stand-in through a file
# buffer) fed a steady RATE lines a second for SECONDS, the 8 container logs of the node workload
# (bench/node_workload.h) written as a kubelet would: appended in small writes, each file renamed
# to <name>.1 and started again past ROTATE_BYTES (the older .1 deleted). Every line gets a fresh
# CRI timestamp (no two are alike). sluice's RSS, CPU and the lines written and stored are
# sampled every 10 s (printed as they come); at the end, after the writer stops and the stand-in
# has stored every line, the summary: RSS at minute 5 and at the end (medians of the samples of
# the minute around each) and the growth between them, peak RSS, CPU-s per million lines, and
# whether every line was stored once.
#   bash bench/soak.sh [SECONDS] [RATE]          defaults 1800 s, 20000 lines/s
# Environment: SLUICE_BIN (the binary to run, default build/sluice), SLUICE_BUILD_DIR (take the
# helpers from there and do not build), ROTATE_BYTES (default 64 MiB), CONF (default
# bench/daemonset.conf). Run it at nice 19: `nice -n 19 bash bench/soak.sh`.
# Exits 1 when the stand-in stored another number of documents than lines were written.
set -euo pipefail
# Its sluice serves its monitor on a free port: a soak beside another sluice (or soak) never collides.
export SLUICE_MONITOR_PORT="${SLUICE_MONITOR_PORT:-0}"
cd "$(dirname "$0")/.."
secs=${1:-1800}
rate=${2:-20000}
conf=${CONF:-bench/daemonset.conf}
rotate=${ROTATE_BYTES:-67108864}
source bench/pipeline_binaries.sh
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/var/log/containers"
# The lines to cycle through: 200,000 of the node workload, 25,000 per pod.
"$build/bench/sluice_gen_cri" "$work/src" 200000 8 node
for f in "$work"/src/*.log; do : > "$work/var/log/containers/$(basename "$f")"; done

"$build/bench/sluice_bench_standins" 8 "$work/status" node es > "$work/ports" 2> "$work/standins.err" &
pids+=($!)
while [ ! -s "$work/ports" ]; do sleep 0.05; done
read -r port k8s < "$work/ports"
SLUICE_BENCH_DIR="$work" SLUICE_BENCH_SINK_PORT="$port" SLUICE_BENCH_ES_PORT="$port" SLUICE_BENCH_K8S_PORT="$k8s" \
  "$sluice" -c "$conf" --log-level warn &
sluice_pid=$!
pids+=($sluice_pid)

# The writer: RATE lines a second in steps of 50 ms, round robin over the files; writes the
# number of lines written so far to $work/written after every step.
python3 - "$work/src" "$work/var/log/containers" "$rate" "$secs" "$rotate" "$work/written" <<'PY' &
import os, sys, time
src, dst, rate, secs, rotate, written_file = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
names = sorted(os.listdir(src))
lines = {n: [l.split(b" ", 1)[1] for l in open(os.path.join(src, n), "rb")] for n in names}  # without the CRI time
files = {n: open(os.path.join(dst, n), "ab") for n in names}
pos = {n: 0 for n in names}
step = 0.05
start = time.time()
written, k, seq = 0, 0, 0
while True:
    now = time.time()
    if now - start >= secs:
        break
    # What the clock says is due (a writer starved of CPU on a busy machine catches up in
    # larger writes rather than falling behind the rate), at most 2 s of lines at once.
    todo = min(int(rate * (now - start + step)) - written, int(rate * 2))
    out = {n: [] for n in names}
    t = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
    for _ in range(todo):
        n = names[k % len(names)]
        k += 1
        seq = (seq + 1) % 1000000000
        out[n].append(b"%s.%09dZ %s" % (stamp.encode(), seq, lines[n][pos[n]]))
        pos[n] = (pos[n] + 1) % len(lines[n])
    for n, chunk in out.items():
        if not chunk:
            continue
        f = files[n]
        f.write(b"".join(chunk))
        f.flush()
        if f.tell() >= rotate:  # the kubelet's rotation: rename, start a new file
            f.close()
            path = os.path.join(dst, n)
            if os.path.exists(path + ".1"):
                os.remove(path + ".1")
            os.rename(path, path + ".1")
            files[n] = open(path, "ab")
    written += todo
    with open(written_file + ".tmp", "w") as w:
        w.write(str(written))
    os.rename(written_file + ".tmp", written_file)
    delay = start + (written / rate) - time.time()
    if delay > 0:
        time.sleep(delay)
PY
writer=$!
pids+=($writer)

echo "soak: $rate lines/s for $secs s into 8 files (rotated at $rotate bytes); $(basename "$conf"); $sluice;" \
     "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "seconds rss_kib hwm_kib cpu_s written stored"
hz=$(getconf CLK_TCK)
t0=$(date +%s.%N)
: > "$work/samples"
sample() {
  local now rss hwm ticks written stored
  now=$(date +%s.%N)
  rss=$(awk '/^VmRSS:/{print $2}' "/proc/$sluice_pid/status")
  hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$sluice_pid/status")
  ticks=$(awk '{print $14 + $15}' "/proc/$sluice_pid/stat")
  written=$(cat "$work/written" 2>/dev/null || echo 0)
  stored=$(cat "$work/status" 2>/dev/null || echo 0)
  python3 -c "print(f'{$now - $t0:.0f} $rss $hwm {$ticks / $hz:.2f} $written $stored')" | tee -a "$work/samples"
}
while kill -0 "$writer" 2>/dev/null; do
  sample
  sleep 10
done
wait "$writer"
written=$(cat "$work/written")
deadline=$(( $(date +%s) + 300 ))
while [ "$(cat "$work/status" 2>/dev/null || echo 0)" -lt "$written" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 1; done
sleep 1  # a late duplicate would show in the count
sample
stored=$(cat "$work/status")
python3 - "$work/samples" "$secs" "$written" "$stored" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
secs, written, stored = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def rss_around(t):  # median RSS of the samples within 30 s of t
    near = [r[1] for r in rows if abs(r[0] - t) <= 30]
    return statistics.median(near) if near else float("nan")
at5 = rss_around(300)
end = statistics.median([r[1] for r in rows if secs - 60 <= r[0] <= secs]) if secs >= 60 else rows[-1][1]
cpu = rows[-1][3]
print(f"RSS at minute 5: {at5 / 1024:.1f} MiB; at the end (minute {secs / 60:.0f}): {end / 1024:.1f} MiB; "
      f"growth {100 * (end - at5) / at5:+.1f}%; peak RSS {max(r[2] for r in rows) / 1024:.1f} MiB")
print(f"CPU {cpu:.1f} s for {written} lines: {cpu * 1e6 / max(written, 1):.2f} CPU-s per million lines "
      f"({100 * cpu / rows[-1][0]:.1f}% of a core)")
print(f"lines written {written}, documents stored {stored}" + ("" if written == stored else "  MISMATCH"))
PY
[ "$stored" = "$written" ]
