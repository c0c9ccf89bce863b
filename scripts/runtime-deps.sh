#!/usr/bin/env bash
# Prints the Debian packages that hold the shared libraries a binary needs (default
# build/sluice), one per line, sorted: what a runtime image must install.
#   runtime-deps.sh [--all] [BINARY]
# By default the packages of the libraries the binary links itself (its ELF NEEDED entries,
# resolved by ldd): installing those brings the rest as their dependencies. --all: the
# packages of every library ldd resolves, the indirect ones included.
# Exits 1, naming the library, when a library belongs to no package or cannot be found.
# Used by packaging/docker/Dockerfile's build stage and tests/packaging/test_image.py.
set -euo pipefail
all=0
if [ "${1:-}" = "--all" ]; then all=1; shift; fi
binary="${1:-build/sluice}"

# soname -> path for every library ldd resolves ("not found" fails below).
declare -A path_of
status=0
while read -r soname arrow path _; do
  if [ "$arrow" = "=>" ] && [ "$path" = "not" ]; then
    echo "runtime-deps: $soname: not found" >&2
    status=1
  elif [ "$arrow" = "=>" ] && [ -n "$path" ]; then
    path_of["$soname"]="$path"
  elif [[ "$soname" == /* ]]; then
    path_of["$(basename "$soname")"]="$soname"   # the dynamic loader: "/lib64/ld-linux-x86-64.so.2 (0x…)"
  fi
done < <(ldd "$binary")

if [ "$all" -eq 1 ]; then
  sonames=("${!path_of[@]}")
else
  mapfile -t sonames < <(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
fi

# Debian 12 merges /lib into /usr/lib; dpkg knows each file under one of its names: ask about
# all of them in one dpkg -S (one read of dpkg's database).
declare -A candidates
queries=()
for soname in "${sonames[@]}"; do
  lib="${path_of[$soname]:-}"
  if [ -z "$lib" ]; then
    echo "runtime-deps: $soname: ldd does not resolve it" >&2
    status=1
    continue
  fi
  real="$(readlink -f "$lib")"
  c="$lib $real ${lib/#\/usr\/lib\//\/lib\/} ${real/#\/usr\/lib\//\/lib\/}"
  c="${c//\/lib64\//\/lib\/x86_64-linux-gnu\/}"
  candidates["$soname"]="$c"
  # shellcheck disable=SC2206
  queries+=($c)
done

declare -A pkg_of
while IFS= read -r line; do
  pkg="${line%%: *}"
  file="${line#*: }"
  pkg_of["$file"]="${pkg%%:*}"
done < <(dpkg -S "${queries[@]}" 2>/dev/null | grep -v '^diversion' || true)

pkgs=""
for soname in "${sonames[@]}"; do
  found=""
  for p in ${candidates[$soname]:-}; do
    if [ -n "${pkg_of[$p]:-}" ]; then found="${pkg_of[$p]}"; break; fi
  done
  if [ -z "$found" ]; then
    [ -n "${candidates[$soname]:-}" ] && echo "runtime-deps: no Debian package holds $soname (${path_of[$soname]})" >&2
    status=1
  else
    pkgs+="$found"$'\n'
  fi
done
printf '%s' "$pkgs" | sort -u
exit "$status"
