#!/usr/bin/env bash
# bench/: CPU used by the tail input watching 1,000 idle files (inotify + the 1 s stat timer),
# or, with RATE > 0, a trickle of RATE lines a second, each into a file picked at random.
#   bash bench/run_tail_idle.sh [FILES] [SECONDS] [RATE]
set -euo pipefail
# Every sluice run here serves its monitor on a free port, so runs side by side never collide.
export SLUICE_MONITOR_PORT="${SLUICE_MONITOR_PORT:-0}"
cd "$(dirname "$0")/.."
n=${1:-1000}
secs=${2:-20}
rate=${3:-0}
[ -n "${SLUICE_BIN:-}" ] || bash scripts/build.sh sluice >/dev/null
work=$(mktemp -d)
writer=
trap 'kill $pid $writer 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/logs"
for i in $(seq 1 "$n"); do echo "line of file $i" > "$work/logs/f$i.log"; done
cat > "$work/idle.conf" <<CONF
<source>
  @type tail
  path $work/logs/*.log
  pos_file $work/tail.pos
  tag idle.*
  read_from_head true
  <parse>
    @type none
  </parse>
</source>
<match idle.**>
  @type null
</match>
CONF
"${SLUICE_BIN:-./build/sluice}" -c "$work/idle.conf" --log-level warn &
pid=$!
until [ -f "$work/tail.pos" ] && [ "$(wc -l < "$work/tail.pos")" -ge "$n" ]; do sleep 0.1; done
if [ "$rate" != 0 ]; then
  python3 - "$work/logs" "$n" "$rate" <<'PY' &
import random, sys, time
d, n, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rng = random.Random(1)
i = 0
while True:
    with open(f"{d}/f{rng.randint(1, n)}.log", "a") as f:
        f.write(f'{{"msg":"trickle line {i}","level":"info"}}\n')
    i += 1
    time.sleep(1 / rate)
PY
  writer=$!
fi
sleep 2
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks); sleep "$secs"; t1=$(ticks)
hz=$(getconf CLK_TCK)
python3 -c "import sys; d=($t1-$t0)/$hz; print(f'{$n} files, {$rate} lines/s: {d:.3f} cpu-s in {$secs} s = {100*d/$secs:.2f}% of a core; RSS', open('/proc/$pid/status').read().split('VmRSS:')[1].split()[0], 'KiB')"
