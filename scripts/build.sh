#!/usr/bin/env bash
# Configures and builds sluice (Release) into ./build. Extra arguments go to ninja.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C build -j2 "$@"
