#!/usr/bin/env bash
# Prints the Debian packages that hold the shared libraries a binary links (default
# build/sluice), one per line: what a runtime image must install (packaging/Dockerfile).
# Exits 1, naming the library, when a library belongs to no package.
set -euo pipefail
binary="${1:-build/sluice}"
status=0
pkgs=""
for lib in $(ldd "$binary" | awk '/=>/ {print $3} /^[ \t]*\/lib/ {print $1}'); do
  pkg=""
  # Debian 12 merges /lib into /usr/lib; dpkg knows each file under one of the two names.
  real="$(readlink -f "$lib")"
  for path in "$lib" "$real" "${lib/#\/usr\/lib\//\/lib\/}" "${real/#\/usr\/lib\//\/lib\/}"; do
    pkg="$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1 || true)"
    [ -n "$pkg" ] && break
  done
  if [ -z "$pkg" ]; then
    echo "runtime-deps: no Debian package holds $lib" >&2
    status=1
  else
    pkgs+="$pkg"$'\n'
  fi
done
printf '%s' "$pkgs" | sort -u
exit "$status"
