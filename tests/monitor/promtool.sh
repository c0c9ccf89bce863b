#!/bin/bash
# promtool check rules / test rules on packaging/prometheus/sluice-rules.yml (Debian's
# prometheus package, installed by scripts/setup.sh, ships promtool). Exit 77 (skipped) only
# where promtool is absent.
set -euo pipefail
src="$1"
if ! command -v promtool >/dev/null; then
  echo "promtool is absent (scripts/setup.sh installs Debian's prometheus package); skipped"
  exit 77
fi
case "$2" in
  check) promtool check rules "$src/packaging/prometheus/sluice-rules.yml" ;;
  test) cd "$src/tests/monitor" && promtool test rules sluice-rules.test.yml ;;
esac
