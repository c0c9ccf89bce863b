#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The systemd unit's privileges, enforced by the kernel as systemd would set them (systemd
itself does not run here): the packaged sluice, from the unpacked .deb, with its packaged
sluice.conf, as a user that is not root (DynamicUser=) holding only CAP_DAC_READ_SEARCH as an
ambient capability (AmbientCapabilities=, CapabilityBoundingSet=), with no_new_privs, and the
root file system read-only but its state folder (ProtectSystem=strict, StateDirectory=).

  python3 unit_sandbox.py UNPACKED_ROOT TMP_DIR

It must read a root-owned 0640 log (as /var/log/auth.log is) appended after it started, and
serve /healthz; and without the capability the same line must not be read (so the capability is
what reads it). Needs root, unshare and setpriv: exits 77 with a message without them.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

USER = 65534  # nobody: a user that owns nothing, as a dynamic user


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def metric(port, name):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    m = re.search(rf"^{name}\{{[^}}]*\}} ([0-9.e+]+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def run(root, tmp, with_capability):
    """Starts the sandboxed sluice, appends a line to a root-owned log; returns (lines read, log)."""
    name = "with" if with_capability else "without"
    logs = os.path.join(tmp, f"logs-{name}")
    state = os.path.join(tmp, f"state-{name}")
    os.makedirs(logs)
    os.makedirs(state)
    os.chown(state, USER, USER)  # StateDirectory= is owned by the service's user
    os.chmod(state, 0o750)
    secure = os.path.join(logs, "auth.log")
    with open(secure, "w") as f:
        f.write("an old line, before the start (not read: the packaged tail starts at the end)\n")
    os.chmod(secure, 0o640)  # root:root 0640: only root, or CAP_DAC_READ_SEARCH, reads it

    caps = ["--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", "--bounding-set=-all,+dac_read_search"] \
        if with_capability else ["--inh-caps=-all", "--bounding-set=-all"]
    script = ('mount --make-rprivate / && mount --bind "$0" "$0" && mount -o remount,bind,ro / && '
              f'exec setpriv --reuid={USER} --regid={USER} --clear-groups {" ".join(caps)} --no-new-privs -- "$@"')
    env = dict(os.environ, STATE_DIRECTORY=state, SLUICE_LOG_DIR=logs, SLUICE_ES_HOSTS="http://127.0.0.1:9",
               SLUICE_MONITOR_PORT="0")
    err_path = os.path.join(tmp, f"sluice-{name}.err")
    with open(err_path, "w") as err:
        p = subprocess.Popen(["unshare", "-m", "sh", "-c", script, state, os.path.join(root, "usr/bin/sluice"),
                              "-c", os.path.join(root, "etc/sluice/sluice.conf")],
                             env=env, stdout=subprocess.DEVNULL, stderr=err)
    read = None
    try:
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline and p.poll() is None:
            with open(err_path) as f:
                m = re.search(r"Monitor listening on http://127\.0\.0\.1:(\d+)", f.read())
            port = int(m.group(1)) if m else None
            time.sleep(0.05)  # polling interval of a wait for a condition
        if port is None:
            return None, open(err_path).read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            healthy = r.status == 200
        # The tail has looked at the file once it is watched (or refused for permission).
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not metric(port, "sluice_input_tail_watched_files"):
            if "ermission" in open(err_path).read():
                break
            time.sleep(0.05)  # polling interval of a wait for a condition
        if with_capability:
            with open(secure, "a") as f:
                f.write("Nov 27 10:00:00 host sshd[1]: Accepted publickey for root\n")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                read = metric(port, "sluice_input_received_records_total")
                if read:
                    break
                time.sleep(0.1)  # polling interval of a wait for a condition
        else:
            # The tail reported the file it cannot open; nothing was read.
            read = metric(port, "sluice_input_received_records_total")
        if not healthy:
            read = None
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return read, open(err_path).read()


def main():
    root, tmp = sys.argv[1], sys.argv[2]
    if os.geteuid() != 0:
        skip("not root: the unit's sandbox (another user, a capability, a read-only root) cannot be set up")
    for tool in ("unshare", "setpriv"):
        if shutil.which(tool) is None:
            skip(f"{tool} is not installed (util-linux)")
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        skip("no mount namespace here: the unit's read-only root cannot be set up")
    failed = 0
    read, log = run(root, tmp, True)
    if read == 1:
        print(f"ok: as uid {USER} with CAP_DAC_READ_SEARCH only, read-only root: the root-owned 0640 log is read, /healthz answers")
    else:
        failed += 1
        print(f"FAIL: as uid {USER} with CAP_DAC_READ_SEARCH only: lines read {read}\n{log}")
    read, log = run(root, tmp, False)
    if read == 0 and "ermission" in log:
        print("ok: without the capability the same log is refused (permission), nothing read")
    else:
        failed += 1
        print(f"FAIL: without the capability: lines read {read} (expected 0 and a permission error)\n{log}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
