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
  libprotobuf-dev protobuf-compiler libsnappy-dev libxxhash-dev libyaml-cpp-dev
  procps time openssl python3
)
# Test-only: the real Prometheus that scrapes sluice's /metrics in tests/integration/monitor_test.cc
# (the test skips without it).
test_packages=(prometheus)
packages+=("${test_packages[@]}")

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
echo "setup: dependencies present"
