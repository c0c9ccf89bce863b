#!/usr/bin/env bash
# Every configuration under conf/ (the DaemonSet's among them) starts with a comment saying what
# it is for and passes `sluice --dry-run --strict`:
# the reader, every plugin's parameters (unknown ones are errors), the pos_file and buffer
# folders. The folders the confs take from the environment point into a temporary root.
#   conf_dry_run.sh SLUICE_BINARY SOURCE_DIR
set -uo pipefail
sluice="$1"
src="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export SLUICE_STATE_DIR="$tmp/state" SLUICE_POS_DIR="$tmp/pos" SLUICE_OUT="$tmp/out/app.jsonl" TMPDIR="$tmp"
mkdir -p "$SLUICE_STATE_DIR" "$SLUICE_POS_DIR" "$tmp/out"
failed=0
count=0
for conf in "$src"/conf/*.conf; do
  count=$((count + 1))
  # Each says first what it is for.
  if ! head -n 1 "$conf" | grep -qE '^# [A-Z].{20,}'; then
    echo "FAIL: ${conf#"$src"/} does not start with a comment saying what it is for"
    failed=$((failed + 1))
    continue
  fi
  if out="$("$sluice" -c "$conf" --dry-run --strict 2>&1)"; then
    echo "ok: ${conf#"$src"/}"
  else
    echo "FAIL: ${conf#"$src"/}: $out"
    failed=$((failed + 1))
  fi
done
# The DaemonSet's confs must be among them (conf/ links to the overlays' files).
for name in kubernetes-elasticsearch kubernetes-loki; do
  [ -f "$src/conf/$name.conf" ] || { echo "FAIL: conf/$name.conf is missing"; failed=$((failed + 1)); }
done
# And --dry-run does refuse: the same conf with its state folder unwritable.
if SLUICE_STATE_DIR=/proc/sluice-none "$sluice" -c "$src/conf/kubernetes-elasticsearch.conf" --dry-run >/dev/null 2>&1; then
  echo "FAIL: --dry-run accepted a pos_file folder that cannot be written"
  failed=$((failed + 1))
fi
echo "conf dry-run: $((count - failed)) of $count ok"
[ "$failed" -eq 0 ]
