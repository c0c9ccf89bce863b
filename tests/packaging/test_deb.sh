#!/usr/bin/env bash
# The Debian package as built by scripts/build-deb.sh (CPack), unpacked with dpkg-deb -x into a
# temporary root and run from there:
#   - the files are where Debian and systemd expect them, the conffiles are declared, the
#     dependencies were computed by dpkg-shlibdeps (libcurl4 among them) and are installed here;
#   - the packaged binary prints its version, and `--dry-run --strict` accepts the packaged
#     /etc/sluice/sluice.conf (its state folder pointed into the temporary root, as systemd's
#     StateDirectory= does with $STATE_DIRECTORY), and refuses it when that folder is not writable;
#   - run under the unit's privileges (another user, CAP_DAC_READ_SEARCH only, read-only root,
#     set up by unit_sandbox.py where the test is root) it reads a root-owned log, and without
#     the capability it does not;
#   - the man page is there and names the plugins;
#   - `systemd-analyze verify` accepts the unit (skipped with a message where it is missing);
#     the unit keeps its hardening.
#   test_deb.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src="$1"
build="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
ok() { echo "ok: $*"; }

for tool in cpack dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (bash scripts/setup.sh installs dpkg-dev and cmake)"; exit 77; }
done

start=$(date +%s%N)
if ! deb="$(SLUICE_BUILD_DIR="$build" bash "$src/scripts/build-deb.sh" "$tmp/out" 2>"$tmp/build.err")"; then
  cat "$tmp/build.err"
  fail "scripts/build-deb.sh built no package"
  exit 1
fi
echo "built $(basename "$deb") in $((($(date +%s%N) - start) / 1000000)) ms"

version="$(sed -n 's/^project(sluice VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")"
[ "$(dpkg-deb -f "$deb" Package)" = sluice ] && ok "Package: sluice" || fail "Package is not sluice"
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] && ok "Version: $version" || fail "Version $(dpkg-deb -f "$deb" Version) is not $version"
depends="$(dpkg-deb -f "$deb" Depends)"
echo "Depends: $depends"
for p in libc6 libcurl4 libre2-9 libsimdjson14 libzstd1; do
  grep -qE "(^|, )$p( |,|$)" <<< "$depends" && ok "depends on $p (dpkg-shlibdeps)" || fail "Depends lacks $p"
done
# Every dependency is a package installed here (the package would install on this system).
for p in $(tr ',' '\n' <<< "$depends" | sed 's/(.*//; s/|.*//; s/ //g'); do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || fail "dependency $p is not installed"
done

dpkg-deb -e "$deb" "$tmp/control"
[ "$(sort "$tmp/control/conffiles")" = "$(printf '/etc/default/sluice\n/etc/sluice/sluice.conf')" ] \
  && ok "conffiles: /etc/sluice/sluice.conf, /etc/default/sluice" || fail "conffiles: $(cat "$tmp/control/conffiles")"
for s in postinst prerm postrm; do
  [ -x "$tmp/control/$s" ] && sh -n "$tmp/control/$s" && ok "$s is an executable shell script" || fail "$s"
done

root="$tmp/root"
dpkg-deb -x "$deb" "$root"
for f in usr/bin/sluice etc/sluice/sluice.conf etc/default/sluice lib/systemd/system/sluice.service usr/share/man/man1/sluice.1.gz; do
  [ -f "$root/$f" ] && ok "/$f" || fail "/$f is missing"
done
cmp -s "$root/etc/sluice/sluice.conf" "$src/packaging/sluice.conf" && ok "/etc/sluice/sluice.conf is packaging/sluice.conf" || fail "/etc/sluice/sluice.conf differs"

bin="$root/usr/bin/sluice"
out="$("$bin" --version 2>&1)" && [ "$out" = "sluice $version" ] && ok "sluice --version: $out" || fail "sluice --version: $out"
mkdir -p "$tmp/state" "$tmp/logs"
if out="$(STATE_DIRECTORY="$tmp/state" SLUICE_LOG_DIR="$tmp/logs" "$bin" -c "$root/etc/sluice/sluice.conf" --dry-run --strict 2>&1)"; then
  ok "--dry-run --strict of the packaged sluice.conf"
else
  fail "--dry-run --strict of the packaged sluice.conf: $out"
fi
if STATE_DIRECTORY=/proc/sluice-none "$bin" -c "$root/etc/sluice/sluice.conf" --dry-run >/dev/null 2>&1; then
  fail "--dry-run accepted a state folder that cannot be written"
else
  ok "--dry-run refuses an unwritable state folder (exit $?)"
fi
# The unit's privileges, set by hand as systemd would (unit_sandbox.py): another user with only
# CAP_DAC_READ_SEARCH reads a root-owned log; without it, not.
chmod 755 "$tmp"
python3 "$src/tests/packaging/unit_sandbox.py" "$root" "$tmp"
case $? in
  0) ;;
  77) ;;  # the helper said why
  *) fail "the packaged sluice under the unit's privileges" ;;
esac
man_text="$(zcat "$root/usr/share/man/man1/sluice.1.gz")"
grep -q '^\.TH SLUICE 1' <<< "$man_text" && grep -q "output plugin 'elasticsearch'" <<< "$man_text" && grep -q -- '--dry-run' <<< "$man_text" \
  && ok "sluice(1) has the options and the plugins" || fail "sluice(1) is incomplete"

unit="$root/lib/systemd/system/sluice.service"
for directive in "LimitNOFILE=65536" "Restart=on-failure" "RestartPreventExitStatus=2" "ProtectSystem=strict" \
                 "ProtectHome=read-only" "NoNewPrivileges=yes" "PrivateTmp=yes" "StateDirectory=sluice" \
                 "ReadOnlyPaths=/var/log" "CapabilityBoundingSet=CAP_DAC_READ_SEARCH" "ExecReload=/bin/kill -HUP \$MAINPID"; do
  grep -qxF "$directive" "$unit" && ok "unit: $directive" || fail "unit lacks $directive"
done
# The unit's commands run the packaged binary and config.
grep -E '^Exec' "$unit" | grep -v -- '/bin/kill' | grep -qv '/usr/bin/sluice -c /etc/sluice/sluice.conf' && fail "an Exec line runs something else"

if command -v systemd-analyze >/dev/null; then
  # The unit as installed, its paths moved into the unpacked package (verify checks that the
  # commands exist and runs man for Documentation=). A warning (an unknown directive, a bad
  # value) fails too: systemd would only ignore that line.
  sed -e "s#/usr/bin/sluice#$root/usr/bin/sluice#g; s#/etc/sluice/#$root/etc/sluice/#g; s#/etc/default/sluice#$root/etc/default/sluice#g" \
    "$unit" > "$tmp/sluice.service"
  if out="$(MANPATH="$root/usr/share/man" systemd-analyze verify "$tmp/sluice.service" 2>&1)" && [ -z "$out" ]; then
    ok "systemd-analyze verify accepts the unit, without a warning"
  else
    fail "systemd-analyze verify: $out"
  fi
else
  echo "SKIP: systemd-analyze is not installed (package systemd): the unit is not verified"
fi
echo "deb test: $failed failed"
[ "$failed" -eq 0 ]
