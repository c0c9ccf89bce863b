# bench/: sourced by the DaemonSet pipeline's scripts (run_daemonset.sh, run_stages.sh,
# soak.sh): sets `build` (SLUICE_BUILD_DIR, else ./build, built with scripts/build.sh: sluice,
# the CRI line generator and the stand-ins) and `sluice` (SLUICE_BIN, else the build's).
if [ -n "${SLUICE_BUILD_DIR:-}" ]; then
  build=$SLUICE_BUILD_DIR
else
  build=build
  bash scripts/build.sh sluice sluice_gen_cri sluice_bench_standins >/dev/null
fi
sluice=${SLUICE_BIN:-$build/sluice}
