#!/usr/bin/env bash
# Installs every build and test dependency of sluice from Debian 12's packages.
# Idempotent: installs only what is missing. Run as root (or with sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libsimdjson-dev libre2-dev libcurl4-openssl-dev libzstd-dev zlib1g-dev
  libboost-program-options-dev
  libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcpp-httplib-dev
  libprotobuf-dev protobuf-compiler libsnappy-dev libxxhash-dev libyaml-cpp-dev librdkafka-dev
  libmsgpack-cxx-dev
  libsystemd-dev
  procps time openssl python3
)
packages+=(libmsgpack-cxx-dev)  # the forward plugins' msgpack (header-only)
# SLUICE_SETUP_BUILD_ONLY=1 (the container image's build stage): the build's packages only.
build_only="${SLUICE_SETUP_BUILD_ONLY:-0}"
# Test-only: the real Prometheus that scrapes sluice's /metrics in tests/integration/monitor_test.cc
# (the test skips without it); systemd-analyze (systemd) verifies the packaged unit and dpkg-dev
# builds the .deb (tests/packaging).
test_packages=(prometheus systemd systemd-journal-remote dpkg-dev)
# node runs the Kubernetes schema validator (tests/packaging/validate-manifests.js); a node
# already installed (another distribution's package) is kept.
if ! command -v node >/dev/null 2>&1; then test_packages+=(nodejs npm); fi
if [ "$build_only" != 1 ]; then packages+=("${test_packages[@]}"); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The package enables a Prometheus service on :9090; the tests start their own, so a
  # Prometheus installed here for them is not left running.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

# The packaging tests' pinned npm packages (tests/packaging/package-lock.json): the Kubernetes
# OpenAPI schemas (kubernetes-models) and a YAML reader, installed into tests/packaging/node_modules
# when missing or older than the lock file.
here="$(cd "$(dirname "$0")/.." && pwd)"
npm_dir="$here/tests/packaging"
if [ "$build_only" = 1 ]; then
  :
elif [ ! -f "$npm_dir/node_modules/.package-lock.json" ] || [ "$npm_dir/package-lock.json" -nt "$npm_dir/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in tests/packaging"
  (cd "$npm_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
fi
# The forward interop test's real client, the npm package fluent-logger (tests/forward/package-lock.json).
[ "$build_only" = 1 ] || { [ -f "$here/tests/forward/node_modules/.package-lock.json" ] && [ ! "$here/tests/forward/package-lock.json" -nt "$here/tests/forward/node_modules/.package-lock.json" ]; } || (echo "setup: npm ci in tests/forward" && cd "$here/tests/forward" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
# kubectl renders the kustomizations (its built-in kustomize, v4 or later). Debian 12's own
# kubernetes-client is 1.20 (kustomize 2.0), too old for them: without a newer kubectl the
# Kubernetes tests report Skipped.
if ! command -v kubectl >/dev/null 2>&1; then
  echo "setup: kubectl not found: the Kubernetes manifest tests will be skipped"
fi
echo "setup: dependencies present"
