#!/usr/bin/env bash
# Regenerates the plugin reference in README.md from the plugins' parameter tables
# (`sluice --describe all --markdown`). A conformance test fails when README.md is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh sluice >/dev/null
python3 - <<'PY'
import subprocess
ref = subprocess.run(["./build/sluice", "--describe", "all", "--markdown"], check=True,
                     capture_output=True, text=True).stdout
buf = subprocess.run(["./build/sluice", "--describe", "buffer", "--markdown"], check=True,
                     capture_output=True, text=True).stdout
text = open("README.md").read()
for (begin, end), body in (
    (("<!-- BEGIN PLUGIN REFERENCE -->", "<!-- END PLUGIN REFERENCE -->"), ref),
    (("<!-- BEGIN BUFFER REFERENCE -->", "<!-- END BUFFER REFERENCE -->"), buf)):
    a, b = text.index(begin) + len(begin), text.index(end)
    text = text[:a] + "\n" + body + text[b:]
open("README.md", "w").write(text)
PY
echo "README.md plugin reference regenerated"
