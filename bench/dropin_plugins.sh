#!/usr/bin/env bash
# CPU per million lines of the issue 21 plugins (concat, detect_exceptions, rewrite_tag_filter,
# record_transformer and record_modifier with the same templates, stdout with and without
# <inject>) against the same pipeline without them: stdin (JSON) -> [plugin] -> null (or stdout
# to /dev/null), 1,000,000 container lines of which 2% begin a 13-line Java stack trace. Prints
# /usr/bin/time's user and sys seconds.
#   bench/dropin_plugins.sh [SLUICE_BINARY] [CONFIGS...]   (default: all)
set -euo pipefail
sluice="$(realpath "${1:-build/sluice}")"
shift || true
configs="${*:-base concat detect rewrite transformer modifier stdout inject}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
cd "$dir"
python3 - <<'PY'
import json, random
random.seed(1)
java = ["java.lang.IllegalStateException: boom\n"] + ["\tat com.example.App.m%d(App.java:%d)\n" % (i, i) for i in range(12)]
with open("in.jsonl", "w") as f:
    n = 0
    while n < 1000000:
        if random.random() < 0.02:
            for l in java:
                f.write(json.dumps({"log": l, "stream": "stderr", "level": "error"}) + "\n"); n += 1
        else:
            f.write(json.dumps({"log": "2024-01-01T00:00:00Z INFO request %d handled in %d ms\n" % (n, n % 97),
                                "stream": "stdout", "level": "info"}) + "\n"); n += 1
PY
src='<source>
 @type stdin
 tag raw.app
 <parse>
  @type json
 </parse>
</source>
'
null='<match **>
 @type null
</match>
'
printf '%s%s' "$src" "$null" > base.conf
printf '%s<filter raw.**>\n @type concat\n key log\n multiline_start_regexp /^\\S/\n stream_identity_key stream\n separator ""\n flush_interval 0\n</filter>\n%s' "$src" "$null" > concat.conf
printf '%s<match raw.**>\n @type detect_exceptions\n remove_tag_prefix raw\n message log\n stream stream\n</match>\n%s' "$src" "$null" > detect.conf
printf '%s<match raw.**>\n @type rewrite_tag_filter\n <rule>\n  key level\n  pattern /^(\\w+)$/\n  tag app.$1\n </rule>\n</match>\n%s' "$src" "$null" > rewrite.conf
fields=' <record>\n  service ${tag_parts[1]}\n  msg ${record["level"]}: ${record["log"]}\n </record>\n'
printf "%s<filter raw.**>\n @type record_transformer\n$fields</filter>\n%s" "$src" "$null" > transformer.conf
printf "%s<filter raw.**>\n @type record_modifier\n$fields remove_keys stream\n</filter>\n%s" "$src" "$null" > modifier.conf
printf '%s<match **>\n @type stdout\n</match>\n' "$src" > stdout.conf
printf '%s<match **>\n @type stdout\n <inject>\n  tag_key tag\n  time_key time\n  time_type string\n </inject>\n</match>\n' "$src" > inject.conf
for round in 1 2; do
  for c in $configs; do
    SLUICE_MONITOR_PORT=0 /usr/bin/time -f "$c: %U s user, %S s sys, %e s wall, peak RSS %M KB" \
      "$sluice" -c "$c.conf" < in.jsonl > /dev/null 2> "$c.err" || { cat "$c.err"; exit 1; }
    tail -n 1 "$c.err"
  done
done
