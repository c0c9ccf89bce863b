#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The container image (packaging/docker/Dockerfile) without a container engine.

  python3 tests/packaging/test_image.py --sluice BIN

- The runtime stage installs exactly the packages of the libraries the built binary links
  (its ELF NEEDED entries, resolved by ldd, found with dpkg -S: scripts/runtime-deps.sh), plus
  ca-certificates: none missing, none extra.
- Those packages and their dependencies (as dpkg records them on this Debian 12) hold every
  library ldd resolves, the indirect ones too: the image's loader finds all of them.
- The files the runtime stage copies from the repository exist, and the image's command runs
  the configuration it installs.
- The HEALTHCHECK command, run by bash as Docker would, passes against a running sluice with the
  image's configuration and fails once sluice has stopped.
"""

import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DOCKERFILE = os.path.join(ROOT, "packaging", "docker", "Dockerfile")
EXTRA = {"ca-certificates"}  # not a library: TLS to Elasticsearch and Loki

failures = []


def check(cond, what):
    print(f"{'ok' if cond else 'FAIL'}: {what}", flush=True)
    if not cond:
        failures.append(what)
    return cond


def instructions(text):
    """The Dockerfile's instructions (continuation lines joined, comments dropped)."""
    out, cur = [], ""
    for line in text.splitlines():
        if not cur and (line.strip().startswith("#") or not line.strip()):
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        out.append(cur.strip())
        cur = ""
    return out


def runtime_stage(instrs):
    last_from = max(i for i, s in enumerate(instrs) if s.upper().startswith("FROM "))
    return instrs[last_from:]


def installed_packages(stage):
    """Package names of the stage's apt-get install commands."""
    pkgs = set()
    for s in stage:
        if not s.startswith("RUN "):
            continue
        for cmd in re.split(r"&&|;", s[4:]):
            words = shlex.split(cmd)
            if words[:2] == ["apt-get", "install"]:
                pkgs |= {w for w in words[2:] if not w.startswith("-")}
    return pkgs


def runtime_deps(binary, *flags):
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "runtime-deps.sh"), *flags, binary],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"runtime-deps.sh {' '.join(flags)} resolves every library ({r.stderr.strip()})")
    return set(r.stdout.split())


def dependency_closure(pkgs):
    """The packages and, recursively, their Depends and Pre-Depends as installed here."""
    seen, todo = set(), list(pkgs)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        r = subprocess.run(["dpkg-query", "-W", "-f=${Depends}, ${Pre-Depends}", p], capture_output=True, text=True)
        if r.returncode != 0:
            continue
        for dep in r.stdout.split(","):
            for alt in dep.split("|"):
                name = re.sub(r"\(.*?\)", "", alt).strip().split(":")[0]
                if name:
                    todo.append(name)
    return seen


def healthcheck(stage):
    hc = [s for s in stage if s.startswith("HEALTHCHECK ")]
    if not check(len(hc) == 1, "the image has one HEALTHCHECK"):
        return None
    m = re.search(r"\bCMD\s+(\[.*\])\s*$", hc[0])
    if not check(m is not None, "the HEALTHCHECK runs a command (exec form)"):
        return None
    return json.loads(m.group(1))


def run_healthcheck(cmd, port):
    env = dict(os.environ, SLUICE_MONITOR_PORT=str(port))
    return subprocess.run(cmd, env=env, capture_output=True, timeout=10).returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    a = ap.parse_args()
    with open(DOCKERFILE) as f:
        stage = runtime_stage(instructions(f.read()))

    listed = installed_packages(stage)
    direct = runtime_deps(a.sluice)
    everything = runtime_deps(a.sluice, "--all")
    print(f"Dockerfile installs: {' '.join(sorted(listed))}")
    check(direct - listed == set(), f"the runtime stage installs every linked library's package (missing: {sorted(direct - listed)})")
    check(listed - direct - EXTRA == set(), f"and nothing else (extra: {sorted(listed - direct - EXTRA)})")
    closure = dependency_closure(listed)
    check(everything - closure == set(),
          f"their dependencies hold every library ldd resolves (not covered: {sorted(everything - closure)})")
    # The check in the image's own build: the build stage's list is verified in the runtime stage.
    check(any("runtime-packages.txt" in s and "dpkg-query" in s for s in stage),
          "the image's build fails when the binary needs a package the list lacks")

    # Files copied from the build context exist; the command runs the installed configuration.
    for s in stage:
        if s.startswith("COPY ") and "--from=" not in s:
            for src in s.split()[1:-1]:
                check(os.path.exists(os.path.join(ROOT, src)), f"COPY source {src} exists")
    check(any(s == "COPY packaging/sluice.conf /etc/sluice/sluice.conf" for s in stage), "the image installs packaging/sluice.conf")
    cmd = [s for s in stage if s.startswith(("ENTRYPOINT ", "CMD "))]
    check(cmd == ['ENTRYPOINT ["/usr/bin/sluice"]', 'CMD ["-c", "/etc/sluice/sluice.conf"]'],
          f"the image runs /usr/bin/sluice -c /etc/sluice/sluice.conf ({cmd})")
    check(any(re.fullmatch(r"USER \S+", s) and s != "USER root" for s in stage), "the image runs as a non-root user")

    hc = healthcheck(stage)
    if hc is None:
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "state"))
        os.makedirs(os.path.join(tmp, "logs"))
        env = dict(os.environ, SLUICE_MONITOR_PORT="0", STATE_DIRECTORY=os.path.join(tmp, "state"),
                   SLUICE_LOG_DIR=os.path.join(tmp, "logs"), SLUICE_ES_HOSTS="http://127.0.0.1:9")
        err_path = os.path.join(tmp, "err")
        with open(err_path, "w") as err:
            p = subprocess.Popen([a.sluice, "-c", os.path.join(ROOT, "packaging", "sluice.conf")], env=env,
                                 stderr=err, stdout=subprocess.DEVNULL)
        try:
            port = None
            deadline = time.monotonic() + 30
            while port is None and time.monotonic() < deadline and p.poll() is None:
                with open(err_path) as f:
                    m = re.search(r"Monitor listening on http://127\.0\.0\.1:(\d+)", f.read())
                port = int(m.group(1)) if m else None
                time.sleep(0.05)  # polling interval of a wait for a condition
            if check(port is not None, "sluice with the image's configuration serves its monitor on 127.0.0.1"):
                check(run_healthcheck(hc, port) == 0, "the HEALTHCHECK passes while sluice runs")
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=60)
                check(run_healthcheck(hc, port) != 0, "the HEALTHCHECK fails once sluice has stopped")
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            if failures:
                with open(err_path) as f:
                    print(f"sluice's log:\n{f.read()}")
    print(f"image test: {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
