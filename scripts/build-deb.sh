#!/usr/bin/env bash
# Builds the Debian package (CPack, cmake/SluicePackage.cmake) from the Release build in ./build:
#   bash scripts/build-deb.sh [OUT_DIR]        (default build/deb) -> OUT_DIR/sluice_<version>_<arch>.deb
# Builds sluice and its man page first when they are out of date. Prints the package's path.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${SLUICE_BUILD_DIR:-build}"
out="$(realpath -m "${1:-$build/deb}")"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
ninja -C "$build" -j2 sluice sluice_manpage >/dev/null
mkdir -p "$out"
# Only the install step runs (no build of everything first: CPACK_CMAKE_GENERATOR's preinstall
# would build the tests and benchmarks too).
(cd "$build" && cpack -G DEB -B "$out" -D CPACK_INSTALL_CMAKE_PROJECTS="$PWD;sluice;ALL;/" >/dev/null)
rm -rf "$out/_CPack_Packages"
ls "$out"/sluice_*.deb
